"""Realized precision per ONNX node on the torch backend.

The torch backend runs each node in the types the annotated graph gives it,
so the realized precision is the graph's, with these exceptions reported:
- nodes evaluated once at load (CONSTANT_FOLDED) and nodes merged into one
  kernel (FUSED, intermediates kept in fp32 inside the kernel);
- float nodes fed by DequantizeLinear compute on dequantized values in their
  float type, not in int8/fp8 (QDQ_EMULATED);
- fp32 matrix products and convolutions run in TF32 when the cell's precision
  is tf32.
"""
from __future__ import annotations

import onnx

from ...precision.types import SHORT
from ..base import ExplainRow
from .program import prepare

FLOATS = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
QUANT = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "int8", onnx.TensorProto.FLOAT8E4M3FN: "fp8",
         onnx.TensorProto.FLOAT8E5M2: "fp8"}
SHAPE_ONLY = {"Shape", "Size"}  # read a tensor's shape, never its values
TENSOR_CORE_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum"}


def _float_type(node, types: dict[str, int]) -> int | None:
    for name in list(node.output) + list(node.input):
        if types.get(name) in FLOATS:
            return types[name]
    return None


def explain_model(model: onnx.ModelProto, fuse_patterns: bool, tf32: bool, on_gpu: bool) -> list[ExplainRow]:
    """One row per node of the annotated model (trtpipe's own Casts left out)."""
    prepared = prepare(model, fuse_patterns)
    types = prepared.graph.types
    folded = set(prepared.folded)
    fused_with = {name: f for f in prepared.fused for name in f.fused_from}
    dq_outputs = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    rows = []
    for i, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        if name.startswith("trtpipe/"):
            continue
        if node.op_type == "QuantizeLinear":
            rows.append(ExplainRow(name, QUANT.get(types.get(node.output[0]), "?"), "",
                                   "rounds and saturates into the quantized type"))
            continue
        if node.op_type == "DequantizeLinear":
            rows.append(ExplainRow(name, QUANT.get(types.get(node.input[0]), "?"), "",
                                   "scales quantized values back to float"))
            continue
        t = None if node.op_type in SHAPE_ONLY else _float_type(node, types)
        if t is None:
            rows.append(ExplainRow(name, "-", "NO_FLOAT_MATH"))
            continue
        realized = SHORT.get(t, "?")
        reason, detail = "", ""
        if realized == "fp32" and tf32 and on_gpu and node.op_type in TENSOR_CORE_OPS:
            realized, detail = "tf32", "TF32 math is on for this cell (precision tf32)"
        if name in folded:
            reason, detail = "CONSTANT_FOLDED", "evaluated once when the model loaded (constant inputs)"
        elif name in fused_with:
            f = fused_with[name]
            others = [n for n in f.fused_from if n != name]
            reason = "FUSED"
            detail = f"fused with {', '.join(others)} into one {f.op_type} kernel (intermediates in fp32)"
        elif any(inp in dq_outputs for inp in node.input):
            reason = "QDQ_EMULATED"
            detail = (f"computes in {realized} on dequantized inputs: the quantization rounding is exact, "
                      "the arithmetic is not int8/fp8")
        rows.append(ExplainRow(name, realized, reason, detail))
    return rows
