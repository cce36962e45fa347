"""Realized precision on ONNX Runtime: the annotated graph vs. the session's graph.

ONNX Runtime writes the graph it actually runs (after kernel assignment, its
InsertCastTransformer and its fusions) to the session file the build stage
stores. Per annotated node:
- FP16/BF16: a node the annotated graph types as FP16 whose output the
  session graph types as FP32 ran in FP32: ONNX Runtime had no kernel for it
  (NO_KERNEL_ON_BACKEND);
- INT8/FP8 (its inputs come through DequantizeLinear): realized INT8 only if
  ONNX Runtime fused the Q/DQ into a quantized kernel (QLinearConv, QGemm,
  MatMulInteger, ...); otherwise it dequantizes and runs the FP32 kernel;
- nodes fused into another are found through the tensors they produced, or a
  fused node that kept their name (FusedConv keeps the Conv's name).
"""
from __future__ import annotations

from pathlib import Path

import onnx

from ...contract.vocabulary import EMULATED, FUSED, NO_FLOAT_MATH, NO_KERNEL_ON_BACKEND, NOT_IN_SESSION_GRAPH
from ...model.tensors import tensor_types
from ...precision.types import SHORT
from ..base import ExplainRow

FLOATS = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
PRECISION_FREE = "InsertedPrecisionFreeCast_"
QUANTIZED_KERNELS = {"QLinearConv", "QLinearMatMul", "QGemm", "ConvInteger", "MatMulInteger",
                     "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "QAttention", "QLinearAdd", "QLinearMul"}
ZP_KIND = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "int8",
           onnx.TensorProto.FLOAT8E4M3FN: "fp8", onnx.TensorProto.FLOAT8E4M3FNUZ: "fp8"}


def node_type(node, types: dict[str, int]) -> int | None:
    """The float type a node computes in: its first float output, else first float input."""
    for name in list(node.output) + list(node.input):
        t = types.get(name)
        if t in FLOATS:
            return t
    return None


def quantized_nodes(model: onnx.ModelProto) -> dict[str, str]:
    """Nodes whose inputs come through DequantizeLinear: {node: 'int8' | 'fp8'}."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    dq_kind: dict[str, str] = {}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and len(n.input) > 2 and n.input[2] in inits:
            kind = ZP_KIND.get(inits[n.input[2]].data_type)
            if kind:
                dq_kind[n.output[0]] = kind
    out = {}
    for n in g.node:
        if n.op_type in ("DequantizeLinear", "QuantizeLinear"):
            continue
        kinds = {dq_kind[i] for i in n.input if i in dq_kind}
        if kinds:
            out[n.name] = "fp8" if "fp8" in kinds else "int8"
    return out


def explain_session_graph(annotated_path: Path, session_path: Path) -> list[ExplainRow]:
    annotated = onnx.load(str(annotated_path), load_external_data=False)  # types only, not weights
    session = onnx.load(str(session_path), load_external_data=False)
    a_types = tensor_types(annotated)
    s_types = _propagate(session, tensor_types(session))
    # ONNX Runtime's CPU provider computes FP16 graphs on FP32 copies named
    # "InsertedPrecisionFreeCast_<tensor>": those copies are what ran.
    for name, t in list(s_types.items()):
        if name.startswith(PRECISION_FREE):
            s_types[name[len(PRECISION_FREE):]] = t
    s_by_name = {n.name: n for n in session.graph.node}
    s_by_output = {o: n for n in session.graph.node for o in n.output}
    quantized = quantized_nodes(annotated)
    rows = []
    for node in annotated.graph.node:
        if node.name.startswith("trtpipe/"):
            continue  # casts and Q/DQ trtpipe inserted are bookkeeping, not user nodes
        s_node = s_by_name.get(node.name) or _renamed(node.name, session) or next(
            (s_by_output[o] for o in node.output if o in s_by_output), None)
        fused = s_node is not None and s_node.name != node.name
        if node.name in quantized:
            rows.append(_quantized_row(node, quantized[node.name], s_node))
            continue
        want = node_type(node, a_types)
        if want is None:
            rows.append(ExplainRow(node.name, "-", NO_FLOAT_MATH))
            continue
        got = node_type(s_node, s_types) if s_node is not None else None
        if got is None:
            # Fused away (e.g. a spelled-out LayerNorm into LayerNormalization):
            # the fused kernel computes in the type of the chain's inputs.
            got = _upstream_type(node, annotated, s_types)
            if got is None:
                rows.append(ExplainRow(node.name, "?", NOT_IN_SESSION_GRAPH,
                                       "ONNX Runtime folded or removed it; nothing around it is in the session graph"))
                continue
            s_node, fused = None, True
        reason, detail = ("", "")
        if fused:
            reason = FUSED
            detail = f"fused into {s_node.op_type} '{s_node.name}'" if s_node is not None else \
                "fused away by ONNX Runtime's optimizer"
        if got != want:
            reason = NO_KERNEL_ON_BACKEND
            detail = (f"ONNX Runtime (CPU) has no {SHORT.get(want, want)} kernel here and computes in "
                      f"{SHORT.get(got, got)}, inserting casts")
        rows.append(ExplainRow(node.name, SHORT.get(got, "?"), reason, detail))
    return rows


def _propagate(session, types: dict[str, int]) -> dict[str, int]:
    """Fills tensor types ONNX shape inference leaves out (it stops at ONNX
    Runtime's contrib ops such as FusedConv): an output takes the type of the
    node's first float input, except where the op states its output type."""
    inits = {i.name: i for i in session.graph.initializer}
    for node in session.graph.node:
        for k, out in enumerate(node.output):
            if not out or out in types:
                continue
            if node.op_type == "Cast":
                types[out] = next(a.i for a in node.attribute if a.name == "to")
            elif node.op_type == "QuantizeLinear" and len(node.input) > 2 and node.input[2] in inits:
                types[out] = inits[node.input[2]].data_type
            elif node.op_type == "DequantizeLinear":
                types[out] = types.get(node.input[1], onnx.TensorProto.FLOAT) if len(node.input) > 1 else onnx.TensorProto.FLOAT
            elif k == 0:
                t = next((types[i] for i in node.input if types.get(i) in FLOATS), None)
                if t is not None:
                    types[out] = t
    return types


def _upstream_type(node, annotated, s_types: dict[str, int]) -> int | None:
    """The session-graph type of the nearest tensor feeding `node` that survived fusion."""
    producers = {o: n for n in annotated.graph.node for o in n.output}
    weights = {i.name for i in annotated.graph.initializer}
    frontier, seen = list(node.input), set()
    while frontier:
        t = frontier.pop(0)
        if not t or t in seen or t in weights:
            continue
        seen.add(t)
        if s_types.get(t) in FLOATS:
            return s_types[t]
        if t in producers:
            frontier.extend(producers[t].input)
    return None


def explain_emulated(annotated_path: Path) -> list[ExplainRow]:
    """With numerics: emulated the session computes in FP32 but rounds every
    tensor to the annotated type, so the annotated types are what is modelled."""
    annotated = onnx.load(str(annotated_path), load_external_data=False)
    types = tensor_types(annotated)
    quantized = quantized_nodes(annotated)
    rows = []
    for node in annotated.graph.node:
        if node.name.startswith("trtpipe/"):
            continue
        if node.name in quantized:
            rows.append(ExplainRow(node.name, quantized[node.name], EMULATED, "Q/DQ run as quantize-dequantize"))
            continue
        t = node_type(node, types)
        if t is None:
            rows.append(ExplainRow(node.name, "-", NO_FLOAT_MATH))
        else:
            rows.append(ExplainRow(node.name, SHORT.get(t, "?"), EMULATED if t != onnx.TensorProto.FLOAT else "",
                                   "computed in fp32, stored rounded to this type (numerics: emulated)"
                                   if t != onnx.TensorProto.FLOAT else ""))
    return rows


def _renamed(name: str, session) -> onnx.NodeProto | None:
    """ONNX Runtime's fused nodes often keep the original name with a prefix ("fused /a/Gemm")."""
    for n in session.graph.node:
        if n.name.endswith(" " + name) or n.name.endswith("/" + name):
            return n
    return None


def _quantized_row(node, kind: str, s_node) -> ExplainRow:
    if s_node is not None and s_node.op_type in QUANTIZED_KERNELS:
        return ExplainRow(node.name, kind, FUSED if s_node.name != node.name else "",
                          f"runs as {s_node.op_type}")
    ran = s_node.op_type if s_node is not None else node.op_type
    return ExplainRow(node.name, "fp32", NO_KERNEL_ON_BACKEND,
                      f"ONNX Runtime (CPU) dequantizes the {kind} inputs and runs {ran} in fp32 (it fuses Q/DQ "
                      "into a quantized kernel only when the output is quantized too)")
