"""Which side of a fused Cast each node of an engine layer runs on.

TensorRT (Myelin above all) fuses Cast nodes into kernels:
"__myl_AddCastMeanSubMulMeanAddSqrtDivMulCastMulAdd_myl0_61" computes a
residual Add in fp16, a LayerNorm in fp32 and its scale in fp16 again, yet
the inspector only shows the kernel's boundary tensors. Reading such a layer
as one precision is wrong either way: the narrowest boundary type reports an
fp32 island as fp16 (a false REALIZED_LOWER), the widest the opposite.

The Casts in the ONNX graph say where the type changes and in which
direction (their `to`). Cutting the layer's nodes at its Casts leaves
segments; a segment that owns a boundary tensor of the layer runs in the type
the engine reports for that tensor (matched by name where TensorRT kept the
ONNX tensor names, else by being the only type on that side). A segment
between two fused Casts touches no boundary: the engine does not show its
type, and it reads "?" rather than the graph's intention.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...model.tensors import tensor_types
from ...precision.types import SHORT
from .inspector import FLOAT_TYPES, LayerInfo, evidence_tensors

CAST_OPS = ("Cast", "CastLike")
_SHORT = SHORT  # the float element type -> fp32 | fp16 | bf16


@dataclass
class GraphFacts:
    """The ONNX graph as the reading needs it: node tensors, float types, constants."""

    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)
    ops: dict[str, str] = field(default_factory=dict)
    cast_to: dict[str, str] = field(default_factory=dict)  # Cast node -> fp32 | fp16 | bf16 | other
    types: dict[str, str] = field(default_factory=dict)  # tensor -> fp32 | fp16 | bf16 (floats only)
    consumers: dict[str, list[str]] = field(default_factory=dict)  # tensor -> nodes reading it
    constants: set[str] = field(default_factory=set)
    graph_outputs: set[str] = field(default_factory=set)
    # nodes computed from constants only (Identity of a shared weight, a Reshape of
    # an initializer): TensorRT folds them at build time
    folded: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, model) -> "GraphFacts":
        g = model.graph
        facts = cls(graph_outputs={o.name for o in g.output}, constants={i.name for i in g.initializer})
        facts.types = {t: _SHORT[e] for t, e in tensor_types(model).items() if e in _SHORT}
        for n in g.node:
            facts.inputs[n.name] = [t for t in n.input if t]
            for t in facts.inputs[n.name]:
                facts.consumers.setdefault(t, []).append(n.name)
            facts.outputs[n.name] = list(n.output)
            facts.ops[n.name] = n.op_type
            if n.op_type == "Constant":
                facts.constants.update(n.output)
            elif facts.inputs[n.name] and all(t in facts.constants for t in facts.inputs[n.name]):
                facts.folded.add(n.name)
                facts.constants.update(n.output)
            if n.op_type == "Cast":
                to = next((a.i for a in n.attribute if a.name == "to"), None)
                facts.cast_to[n.name] = _SHORT.get(to, "other")
        return facts


def read_fused_casts(layer: LayerInfo, nodes: list[str], graph: GraphFacts,
                     intermediates: frozenset[str] = frozenset()) -> dict[str, tuple[str, str]] | None:
    """(precision, basis) per node of a layer that fused a Cast; None when it fused none.

    A Cast between two of the layer's nodes belongs to the layer even where the
    metadata leaves it out (real 10.6 dumps list "/Add" and the LayerNorm of a
    kernel named "__myl_AddResCasMea...", not the Cast between them).

    Args:
        layer: the engine layer (its boundary tensors carry the evidence).
        nodes: the ONNX nodes the layer covers.
        graph: facts about the annotated ONNX graph.
        intermediates: tensors passed between layers of one node (explain.intermediates_of).

    Returns:
        {node: (fp32 | fp16 | bf16 | ?, basis)} for every node, the Casts included
        (they report the type their output leaves the layer in, else "?").
    """
    inside = set(nodes) | _casts_between(set(nodes), graph)
    casts = [n for n in inside if graph.ops.get(n) in CAST_OPS]
    if not casts:
        return None
    produced = {t for n in inside for t in graph.outputs.get(n, [])}
    ins, outs = evidence_tensors(layer, intermediates)
    engine_types = {t.name: t.dtype for t in ins + outs if t.dtype in FLOAT_TYPES}
    side_types = {"in": {t.dtype for t in ins if t.dtype in FLOAT_TYPES},
                  "out": {t.dtype for t in outs if t.dtype in FLOAT_TYPES}}
    groups = _segments([n for n in nodes if n in inside and n not in casts], graph) + [[c] for c in casts]
    edges = []
    for group in groups:
        entries = {t for n in group for t in graph.inputs[n]
                   if t not in produced and t not in graph.constants and t in graph.types}
        exits = {t for n in group for t in graph.outputs[n] if t in graph.types
                 and (t in graph.graph_outputs or _read_outside(t, inside, graph))}
        edges.append((group, entries, exits))
    # Without names, the one type on a side is evidence only for the one group on that side.
    users = {"in": sum(1 for _, e, _ in edges if e - engine_types.keys()),
             "out": sum(1 for _, _, x in edges if x - engine_types.keys())}
    result: dict[str, tuple[str, str]] = {}
    for group, entries, exits in edges:
        seen = _observed(entries, "in", engine_types, side_types, users) | \
            _observed(exits, "out", engine_types, side_types, users)
        if graph.ops.get(group[0]) in CAST_OPS:
            out = _observed(exits, "out", engine_types, side_types, users)
            reading = (next(iter(out)), "its output leaves the layer in that type") if len(out) == 1 and None not in out \
                else ("?", "a Cast fused into the layer")
        else:
            reading = _segment_reading(seen, bool(entries or exits), casts, graph)
        for n in group:
            result[n] = reading
    return result


def _casts_between(nodes: set[str], graph: GraphFacts) -> set[str]:
    found = set()
    for n in nodes:
        for t in graph.outputs.get(n, []):
            for c in graph.consumers.get(t, []):
                if graph.ops.get(c) in CAST_OPS and any(
                        u in nodes for out in graph.outputs[c] for u in graph.consumers.get(out, [])):
                    found.add(c)
    return found


def _segment_reading(seen: set[str | None], touches_boundary: bool, casts: list[str],
                     graph: GraphFacts) -> tuple[str, str]:
    into = "/".join(sorted({graph.cast_to.get(c, "other") for c in casts}))
    if len(seen) == 1 and None not in seen:
        t = next(iter(seen))
        return t, f"its side of the fused Cast (to {into}): boundary tensors {t}"
    if not touches_boundary:
        return "?", f"between fused Casts (to {into}): the inspector does not show the type inside"
    return "?", "its boundary tensors do not show one type (fused Casts inside)"


def _observed(tensors: set[str], side: str, engine_types: dict[str, str], side_types: dict[str, set],
              users: dict[str, int]) -> set:
    """Engine types of these boundary tensors: by name, else the only type on that side when only
    one group of nodes has unnamed tensors there (None: unknown)."""
    seen: set[str | None] = set()
    for t in tensors:
        if t in engine_types:
            seen.add(engine_types[t])
        elif len(side_types[side]) == 1 and users[side] == 1:
            seen.add(next(iter(side_types[side])))
        else:
            seen.add(None)
    return seen


def _read_outside(tensor: str, inside: set[str], graph: GraphFacts) -> bool:
    return any(n not in inside for n in graph.consumers.get(tensor, []))


def _segments(nodes: list[str], graph: GraphFacts) -> list[list[str]]:
    """Connected groups of nodes, joined by tensors one produces and another reads (Casts removed)."""
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    producer = {t: n for n in nodes for t in graph.outputs.get(n, [])}
    for n in nodes:
        for t in graph.inputs.get(n, []):
            p = producer.get(t)
            if p is not None:
                parent[find(n)] = find(p)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())
