"""From per-tensor error statistics to per-node findings: the error each node adds, the
ranking, and the first node whose output crosses the tolerance.

A node's error is the relative L2 error of its (worst) float output against the
FP32 reference. The error it *adds* is its own rounding: its low-precision
output against the FP32 node run on the very inputs the low-precision graph gave
it (shadow.py), on the reference's scale, so a cast, the Q/DQ of an int8 node's
inputs and its quantized weight count, and what it receives does not. Its
*growth* is the output error minus the worst error of the float tensors it
reads, the simpler measure, which also credits amplification (a LayerNorm over
a noisy residual, a product of two noisy activations) to a node that rounds
nothing. Graph inputs and weights read as exact. Where a tensor could not be
captured, its error is taken to be the worst error its producer read, so the
next captured node is charged with what happened in between.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import onnx

from .stats import TensorStats

SKIPPED_OPS = {"Constant"}  # computes nothing: its rounding is charged to its readers, like a weight's


@dataclass
class NodeError:
    node: str
    op: str
    index: int               # position in the graph's (topological) order
    rel_error: float
    cosine: float
    max_abs: float
    nonfinite: int
    added: float             # its own rounding (relative to the reference's norm)
    growth: float            # rel_error minus the worst input's rel_error
    worst_input: str = ""    # the input tensor with the worst error ("" when all read exact)
    impact: float | None = None  # 1 - cosine of the outputs with only its own error (impact.py)

    def to_json(self) -> dict:
        return {"node": self.node, "op": self.op, "index": self.index, "rel_error": self.rel_error,
                "cosine": self.cosine, "max_abs": self.max_abs, "nonfinite": self.nonfinite,
                "added": self.added, "growth": self.growth, "worst_input": self.worst_input,
                **({"impact": self.impact} if self.impact is not None else {})}


@dataclass
class Attribution:
    nodes: list[NodeError]
    first_crossing: NodeError | None
    # Nodes whose outputs were not captured, with why (fused away, not in the network, ...).
    uncaptured: dict[str, str] = field(default_factory=dict)

    def ranked(self) -> list[NodeError]:
        """Nodes by added error, largest first (graph order among equals)."""
        return sorted(self.nodes, key=lambda n: (-_finite_key(n.added), n.index))


def _finite_key(v: float) -> float:
    return 1e300 if v == math.inf else -1e300 if v == -math.inf or math.isnan(v) else v


def float_outputs(model: onnx.ModelProto, types: dict[str, int]) -> dict[str, list[str]]:
    """{node: its float output tensors}, in graph order, for the nodes worth measuring."""
    out: dict[str, list[str]] = {}
    for node in model.graph.node:
        if node.op_type in SKIPPED_OPS:
            continue
        floats = [t for t in node.output if t and types.get(t) == onnx.TensorProto.FLOAT]
        if floats:
            out[node.name] = floats
    return out


def attribute(model: onnx.ModelProto, outputs: dict[str, list[str]], stats: dict[str, TensorStats],
              missing: dict[str, str], cosine_tolerance: float | None) -> Attribution:
    """Per-node errors of the FP32 `model`'s nodes from the captured tensors' statistics.

    Args:
        model: the FP32 model (node names and order are the report's).
        outputs: float_outputs(model).
        stats: statistics per captured tensor (by its name in the FP32 model).
        missing: {tensor: why it was not captured}.
        cosine_tolerance: the first node whose output cosine falls below it (or has
            NaN/Inf) is the first crossing; None: only NaN/Inf count.
    """
    err: dict[str, float] = {}  # tensor -> relative error; absent: read exact
    rows: list[NodeError] = []
    uncaptured: dict[str, str] = {}
    first = None
    for index, node in enumerate(model.graph.node):
        reads = [(err[t], t) for t in node.input if t in err]
        worst_in, worst_name = max(reads, key=lambda r: _finite_key(r[0]), default=(0.0, ""))
        floats = outputs.get(node.name, [])
        measured = [stats[t] for t in floats if t in stats]
        for t in node.output:
            if t in stats:
                err[t] = stats[t].rel_error
            elif t and worst_in:
                err[t] = worst_in  # not captured: carries what it read to the next captured node
        if not floats:
            continue
        if not measured:
            uncaptured[node.name] = next((missing[t] for t in floats if t in missing), "not captured")
            continue
        rel = max((s.rel_error for s in measured), key=_finite_key)
        growth = _growth(rel, worst_in)
        own = [s.own_error for s in measured if s.own_error is not None]
        row = NodeError(node.name, node.op_type, index, rel, min(s.cosine for s in measured),
                        max(s.max_abs for s in measured), sum(s.nonfinite for s in measured),
                        max(own, key=_finite_key) if own else growth, growth, worst_name)
        rows.append(row)
        crossed = row.nonfinite > 0 or (cosine_tolerance is not None and row.cosine < cosine_tolerance)
        if first is None and crossed:
            first = row
    return Attribution(rows, first, uncaptured)


def _growth(out: float, worst_in: float) -> float:
    if out == math.inf:
        return 0.0 if worst_in == math.inf else math.inf  # NaN/Inf born here, or only passed on
    if worst_in == math.inf:
        return -math.inf  # turns a non-finite input into finite values (a Where, a Min, ...)
    return out - worst_in
