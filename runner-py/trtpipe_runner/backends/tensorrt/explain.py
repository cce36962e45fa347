"""Realized precision per ONNX node of a TensorRT engine, with reason codes.

Inputs: the annotated model, the engine inspector output (inspector.py) and
what the build knew (lock, legacy mode, compute capability, TF32). Steps:
1. map engine layers to ONNX nodes (layer_map.py);
2. read each layer's precision from what the inspector shows (`layer_precision`);
3. per node, compare with the intended precision (intent.py) and say why they
   differ.

A layer's precision, first rule that applies:
- it reads or writes int8/fp8 tensors: that quantized type (TensorRT fuses
  DQ -> op -> Q into one quantized kernel whose boundary tensors are int8);
  nodes fused behind the quantized op (Relu, BatchNormalization) run in the
  kernel's float epilogue and report the layer's float output type;
- it fused a Cast: per node, from the side of the Cast it is on
  (fused_casts.py: the Cast's `to` gives the direction, the boundary tensors
  the evidence; nodes between two fused Casts read "?");
- it has weights (`Weights.Type`, DETAILED verbosity): their type;
- its float boundary tensors all have one type T: T, unless the layer swallowed
  a Q/DQ node, in which case the type inside is hidden ("?");
- mixed float boundary types and no Cast to say where the type changes: "?";
- fp32 with a TF32 tactic name (e.g. "..._tf32f32_...") reads as tf32.
Layers that only hold data (weights, layer_map.DATA_LAYERS) or belong to no
node (reformats, Myelin moves) are not read for any node. A node covered by
several layers reports the widest of them.

Reason codes (docs/tensorrt.md, "Reading the explain table"):
  ""                     realized as intended
  NO_FLOAT_MATH          the node does no floating-point math (or is a constant)
  NOT_IN_ENGINE          no layer names the node (constant-folded or removed)
  TYPE_HIDDEN_BY_FUSION  fused together with a Cast/Q/DQ; the inspector only shows the layer's edges
  HARDWARE_UNSUPPORTED   the GPU's compute capability lacks the intended precision
  FUSED_INTO_FP32_LAYER  fused with nodes that run in fp32, so the fused layer runs in fp32
  BUILDER_CHOSE_FP32     legacy weak typing: TensorRT picked an fp32 kernel (BUILDER_CHOSE_WIDER for others)
  BUILDER_CHOSE_LOWER    legacy weak typing: TensorRT picked a lower precision than intended
  NO_KERNEL_ON_BACKEND   strongly typed build, but TensorRT ran the node wider (no kernel in the type)
  FUSED_INTO_LOWER_LAYER / REALIZED_LOWER   ran narrower than intended (fused / not fused)
  TF32_ALLOWED           fp32 node ran with TF32 math because TF32 was enabled for the build
  PRECISION_MISMATCH     same width, other type (fp16 vs bf16, int8 vs fp8)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...contract.vocabulary import (
    BUILDER_CHOSE_FP32,
    BUILDER_CHOSE_LOWER,
    BUILDER_CHOSE_WIDER,
    FUSED_INTO_FP32_LAYER,
    FUSED_INTO_LOWER_LAYER,
    HARDWARE_UNSUPPORTED,
    NO_FLOAT_MATH,
    NO_KERNEL_ON_BACKEND,
    NOT_IN_ENGINE,
    PRECISION_MISMATCH,
    REALIZED_LOWER,
    TF32_ALLOWED,
    TYPE_HIDDEN_BY_FUSION,
)
from ...precision.types import NOT_FLOAT, QUANTIZED, WIDTH
from ..base import ExplainRow
from .fused_casts import GraphFacts, read_fused_casts
from .hardware import unsupported_reason
from .inspector import FLOAT_TYPES, QUANTIZED_TYPES, EngineInfo, LayerInfo, evidence_tensors
from .intent import intended_precisions, is_internal
from .layer_map import DATA_LAYERS, NO_NODE, LayerMap, map_layers

TYPE_CHANGING_OPS = {"Cast", "CastLike", "QuantizeLinear", "DequantizeLinear"}
# Ops that only move or view data: TensorRT folds them into the layers around them.
DATA_MOVEMENT_OPS = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Concat", "Split",
                     "Slice", "Gather", "Expand", "Tile"}
# Data, not computation: TensorRT folds them into the layers that consume them.
CONSTANT_OPS = {"Constant", "ConstantOfShape"}


@dataclass
class BuildFacts:
    """What the build knew that explain needs."""

    lock: dict[str, str] = field(default_factory=dict)
    legacy_weak_typing: bool = False
    compute_capability: tuple[int, int] | None = None
    tf32: bool = False


@dataclass
class ExplainResult:
    rows: list[ExplainRow]
    summary: dict


def layer_precision(layer: LayerInfo, ops: list[str], intermediates: frozenset[str] = frozenset()) -> tuple[str, str]:
    """(precision, basis) of one engine layer; see the module docstring.

    Args:
        layer: the parsed layer.
        ops: op types of the ONNX nodes it covers.
        intermediates: tensors passed between layers of one node (intermediates_of).

    Returns:
        precision in fp32 | tf32 | fp16 | bf16 | int8 | fp8 | - | ?, and the evidence used.
    """
    ins, outs = evidence_tensors(layer, intermediates)
    types = [t.dtype for t in ins + outs if t.dtype]
    if not types and layer.weights_type is None:
        return ("?", "no types (not built with DETAILED verbosity)") if not (layer.inputs or layer.outputs) \
            else (NOT_FLOAT, "no float tensors")
    for q in ("int8", "fp8", "int4", "fp4"):
        if q in types and q in QUANTIZED_TYPES:
            return ("int8" if q == "int4" else "fp8" if q == "fp4" else q), f"{q} tensors"
    if layer.weights_type in FLOAT_TYPES:
        return _tf32(layer.weights_type, layer), "weights type"
    floats = sorted({t for t in types if t in FLOAT_TYPES}, key=lambda t: WIDTH[t])
    if not floats:
        return NOT_FLOAT, "no float tensors"
    if len(floats) == 1:
        if any(op in TYPE_CHANGING_OPS for op in ops) and len(ops) > 1:
            return "?", f"boundary tensors are {floats[0]}, a fused Cast/Q/DQ hides the type inside"
        return _tf32(floats[0], layer), "boundary tensors"
    return "?", f"mixed boundary types {'/'.join(floats)} and no Cast among its nodes to say where the type changes"


def node_precision(layer: LayerInfo, layer_result: tuple[str, str], intended: str) -> tuple[str, str]:
    """What one ONNX node of a layer ran in.

    A quantized layer (int8/fp8 inputs) runs its quantized operation in that
    type, but the nodes fused behind it (Relu, BatchNormalization, Add) run in
    the kernel's float epilogue and leave in the layer's float output type.

    Args:
        layer: the engine layer.
        layer_result: layer_precision() of that layer.
        intended: the node's intended precision.

    Returns:
        (precision, basis) for the node.
    """
    precision, basis = layer_result
    if precision not in QUANTIZED or intended in QUANTIZED:
        return layer_result
    floats = sorted({t.dtype for t in layer.outputs if t.dtype in FLOAT_TYPES}, key=lambda d: WIDTH[d])
    if not floats:
        return "?", f"epilogue of the {precision} layer, whose outputs are {precision}: its float type is hidden"
    return floats[0], f"epilogue of the {precision} layer: its {floats[0]} output"


def _tf32(precision: str, layer: LayerInfo) -> str:
    return "tf32" if precision == "fp32" and "tf32" in layer.tactic.lower() else precision


def explain_engine(model, info: EngineInfo, facts: BuildFacts) -> ExplainResult:
    """One ExplainRow per user node of the annotated model.

    Args:
        model: the annotated onnx.ModelProto the engine was built from.
        info: parsed engine inspector output.
        facts: lock, legacy mode, compute capability, TF32 of the build.

    Returns:
        rows in graph order and a summary for the run record.
    """
    nodes = list(model.graph.node)
    ops = {n.name: n.op_type for n in nodes}
    intent = intended_precisions(model, facts.lock)
    lmap = map_layers(info.layers, model)
    graph = GraphFacts.of(model)
    between = intermediates_of(info, lmap)
    readings: dict[int, dict[str, tuple[str, str]]] = {}
    for ln in lmap.by_layer:
        if ln.how in DATA_LAYERS or not ln.nodes:
            continue
        layer = info.layers[ln.layer]
        fused = None if _quantized(layer) else read_fused_casts(layer, ln.nodes, graph, between)
        if fused is not None:
            readings[ln.layer] = {n: (_tf32(p, layer), why) for n, (p, why) in fused.items()}
        else:
            whole = layer_precision(layer, [ops[n] for n in ln.nodes if n in ops], between)
            readings[ln.layer] = {n: whole for n in ln.nodes}
    rows = [_constant_row(n) if _folded(n, graph, readings, lmap)
            else _row(n.name, intent, lmap, info, readings, facts, n.op_type)
            for n in nodes if not is_internal(n.name)]
    return ExplainResult(rows, _summary(rows, lmap, info))


def _folded(node, graph: GraphFacts, readings: dict, lmap: LayerMap) -> bool:
    """A constant, or computed from constants only and not named by a computing layer."""
    if node.op_type in CONSTANT_OPS:
        return True
    return node.name in graph.folded and not any(i in readings for i in lmap.by_node.get(node.name, []))


def _constant_row(node) -> ExplainRow:
    what = "a constant" if node.op_type in CONSTANT_OPS else "computed from constants only"
    return ExplainRow(node.name, NOT_FLOAT, NO_FLOAT_MATH, f"{what}, folded into its consumers")


def intermediates_of(info: EngineInfo, lmap: LayerMap) -> frozenset[str]:
    """Tensors one layer writes and another reads where both layers compute a common ONNX node."""
    writer = {t.name: layer.index for layer in info.layers for t in layer.outputs if t.name}
    nodes = {ln.layer: set(ln.nodes) for ln in lmap.by_layer if ln.how not in DATA_LAYERS}
    found = set()
    for layer in info.layers:
        for t in layer.inputs:
            w = writer.get(t.name)
            if w is not None and w != layer.index and nodes.get(w, set()) & nodes.get(layer.index, set()):
                found.add(t.name)
    return frozenset(found)


def _quantized(layer: LayerInfo) -> bool:
    return any(t.dtype in QUANTIZED_TYPES for t in layer.inputs + layer.outputs)


def _row(node: str, intent: dict[str, str], lmap: LayerMap, info: EngineInfo,
         readings: dict[int, dict[str, tuple[str, str]]], facts: BuildFacts, op: str = "") -> ExplainRow:
    want = intent.get(node, NOT_FLOAT)
    named = lmap.by_node.get(node, [])
    layers = [i for i in named if i in readings]
    if want == NOT_FLOAT:
        return ExplainRow(node, NOT_FLOAT, NO_FLOAT_MATH)
    if not layers:
        why = (f"a data-movement op ({op}) that TensorRT folds into the layers around it" if op in DATA_MOVEMENT_OPS
               else "constant-folded, eliminated, or fused without metadata")
        data = f"; its weights are {len(named)} weights layer(s) such as '{info.layers[named[0]].name}'" if named else ""
        return ExplainRow(node, "?", NOT_IN_ENGINE, f"intended {want}; no engine layer computing it names this "
                          f"node ({why}){data}")
    results = {i: node_precision(info.layers[i], readings[i][node], want) for i in layers}
    seen = [(results[i][0], i) for i in layers]
    known = [(p, i) for p, i in seen if p not in ("?", NOT_FLOAT)]
    where = "; ".join(_describe(info.layers[i], lmap, results[i]) for i in layers)
    if not known:
        hidden = any(p == "?" for p, _ in seen)
        return ExplainRow(node, "?", TYPE_HIDDEN_BY_FUSION if hidden else NO_FLOAT_MATH,
                          f"intended {want}; {where}")
    got, layer = max(known, key=lambda pi: WIDTH.get(pi[0], 0))
    reason = _reason(node, want, got, layer, intent, lmap, facts)
    detail = where if not reason else f"intended {want}; {where}"
    return ExplainRow(node, got, reason, detail)


def _reason(node: str, want: str, got: str, layer: int, intent: dict[str, str], lmap: LayerMap,
            facts: BuildFacts) -> str:
    if got == want or (want == "tf32" and got == "fp32"):
        return ""
    if want == "fp32" and got == "tf32":
        return TF32_ALLOWED
    if WIDTH.get(got, 0) == WIDTH.get(want, 0):
        return PRECISION_MISMATCH
    partners = [n for n in lmap.by_layer[layer].nodes if n != node and not is_internal(n)]
    if WIDTH.get(got, 0) > WIDTH.get(want, 0):
        if unsupported_reason(want, facts.compute_capability):
            return HARDWARE_UNSUPPORTED
        if got in ("fp32", "tf32") and any(WIDTH.get(intent.get(p), 0) >= WIDTH["tf32"] for p in partners):
            return FUSED_INTO_FP32_LAYER
        if facts.legacy_weak_typing:
            return BUILDER_CHOSE_FP32 if got in ("fp32", "tf32") else BUILDER_CHOSE_WIDER
        return NO_KERNEL_ON_BACKEND
    if facts.legacy_weak_typing:
        return BUILDER_CHOSE_LOWER
    if any(intent.get(p) == got for p in partners):
        return FUSED_INTO_LOWER_LAYER
    return REALIZED_LOWER


def _describe(layer: LayerInfo, lmap: LayerMap, precision: tuple[str, str]) -> str:
    ln = lmap.by_layer[layer.index]
    kind = f" ({layer.layer_type})" if layer.layer_type else ""
    region = ", Myelin region" if ln.opaque else ""
    return f"layer '{layer.name}'{kind}{region}: {precision[0]} from {precision[1]}, matched by {ln.how}"


def _summary(rows: list[ExplainRow], lmap: LayerMap, info: EngineInfo) -> dict:
    counts: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for r in rows:
        counts[r.realized] = counts.get(r.realized, 0) + 1
        if r.reason:
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
    how: dict[str, int] = {}
    for ln in lmap.by_layer:
        how[ln.how] = how.get(ln.how, 0) + 1
    return {
        "inspector_form": info.form,
        "layers": len(info.layers),
        # how each layer was matched to ONNX nodes, or why it has none (layer_map.NO_NODE)
        "layers_by_match": dict(sorted(how.items())),
        "layers_unmapped": [info.layers[i].name for i in lmap.unmapped()][:50],
        "layers_reformat": how.get("reformat", 0),
        "layers_without_node": sum(n for k, n in how.items() if k in NO_NODE),
        "realized_counts": dict(sorted(counts.items())),
        "reason_counts": dict(sorted(reasons.items())),
    }
