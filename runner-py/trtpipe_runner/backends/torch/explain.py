"""Realized precision per ONNX node on the torch backend.

The torch backend runs each node in the types the annotated graph gives it,
so the realized precision is the graph's, with these exceptions reported:
- nodes evaluated once at load (CONSTANT_FOLDED) and nodes merged into one
  kernel (FUSED, intermediates kept in fp32 inside the kernel; attention on
  scaled_dot_product_attention);
- a MatMul/Gemm whose Q/DQ pattern runs on the int8 or fp8 GEMM kernels is
  realized int8 / fp8 (its DequantizeLinear nodes and bias are FUSED into it);
- other float nodes fed by DequantizeLinear compute on dequantized values in
  their float type, not in int8/fp8 (QDQ_EMULATED, with why when a real
  kernel was possible in principle);
- a Softmax of an attention pattern that could not be fused says why
  (ATTENTION_NOT_FUSED);
- fp32 matrix products and convolutions run in TF32 when the cell's precision
  is tf32.
"""
from __future__ import annotations

import onnx

from ...contract.vocabulary import FUSED, NO_FLOAT_MATH, QDQ_EMULATED
from ...precision.types import SHORT
from ..base import ExplainRow
from .fusion_attention import ATTENTION
from .ops.matmul import LINEAR
from .ops.qgemm import QGEMM
from .program import prepare

FLOATS = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
QUANT = {onnx.TensorProto.INT8: "int8", onnx.TensorProto.UINT8: "int8", onnx.TensorProto.FLOAT8E4M3FN: "fp8",
         onnx.TensorProto.FLOAT8E5M2: "fp8"}
SHAPE_ONLY = {"Shape", "Size"}  # read a tensor's shape, never its values
TENSOR_CORE_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum"}
KERNELS = {LINEAR: "nn.Linear GEMM (bias in its epilogue)", "Gelu": "F.gelu",
           ATTENTION: "scaled_dot_product_attention kernel (softmax in fp32 inside)"}
QGEMM_KERNELS = {"int8": "int8 x int8 GEMM on torch._int_mm (exact int32 accumulation)",
                 "fp8": "float8 e4m3 GEMM on torch._scaled_mm (fp32 accumulation)"}


def _float_type(node, types: dict[str, int]) -> int | None:
    for name in list(node.output) + list(node.input):
        if types.get(name) in FLOATS:
            return types[name]
    return None


def _fused_row(name: str, f, realized: str) -> ExplainRow:
    others = [n for n in f.fused_from if n != name]
    if f.op_type == QGEMM:
        kind = f.attrs["kind"]
        kernel = QGEMM_KERNELS[kind]
        if name == f.name:
            return ExplainRow(name, kind, "", f"{kernel}; activation x weight scales{' and bias' if f.inputs[4] else ''} "
                                              f"applied to the result; with {', '.join(others)}")
        return ExplainRow(name, kind if "quantize" in name.lower() else realized, FUSED,
                          f"fused into the {kind} GEMM '{f.name}' ({kernel})")
    kernel = KERNELS.get(f.op_type, f"{f.op_type} kernel (intermediates in fp32)")
    return ExplainRow(name, realized, FUSED, f"fused with {', '.join(others)} into one {kernel}")


def explain_model(model: onnx.ModelProto, fuse_patterns: bool, tf32: bool, on_gpu: bool,
                  device: str = "cuda") -> list[ExplainRow]:
    """One row per node of the annotated model (trtpipe's own Casts left out)."""
    prepared = prepare(model, fuse_patterns, device)
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
        if node.op_type == "DequantizeLinear" and name in fused_with:
            rows.append(_fused_row(name, fused_with[name], QUANT.get(types.get(node.input[0]), "?")))
            continue
        if node.op_type == "DequantizeLinear":
            rows.append(ExplainRow(name, QUANT.get(types.get(node.input[0]), "?"), "",
                                   "scales quantized values back to float"))
            continue
        t = None if node.op_type in SHAPE_ONLY else _float_type(node, types)
        if t is None:
            rows.append(ExplainRow(name, "-", NO_FLOAT_MATH))
            continue
        realized = SHORT.get(t, "?")
        reason, detail = "", ""
        if realized == "fp32" and tf32 and on_gpu and node.op_type in TENSOR_CORE_OPS:
            realized, detail = "tf32", "TF32 math is on for this cell (precision tf32)"
        if name in folded:
            reason, detail = "CONSTANT_FOLDED", "evaluated once when the model loaded (constant inputs)"
        elif any(inp in dq_outputs for inp in node.input) and \
                (name not in fused_with or fused_with[name].op_type != QGEMM):
            reason = QDQ_EMULATED
            detail = (f"computes in {realized} on dequantized inputs: the quantization rounding is exact, "
                      "the arithmetic is not int8/fp8")
            note = prepared.notes.get(name)
            if note is not None and note.reason == reason:
                detail += f" ({note.detail})"
            if name in fused_with:
                detail += f"; {_fused_row(name, fused_with[name], realized).detail}"
        elif name in fused_with:
            rows.append(_fused_row(name, fused_with[name], realized))
            continue
        elif name in prepared.notes:
            reason, detail = prepared.notes[name].reason, prepared.notes[name].detail
        rows.append(ExplainRow(name, realized, reason, detail))
    return rows
