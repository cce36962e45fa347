"""Precision names as pipelines and lockfiles write them, and their ONNX types: all from the
shared vocabulary (proto/trtpipe/runner/v1/contract/vocabulary.json, generated into
contract/vocabulary.py), so no table here can drift from the orchestrator's."""
from __future__ import annotations

from onnx import TensorProto

from ..contract.vocabulary import BITS, FLOAT_PRECISIONS, LOWERED, NOT_FLOAT, PRECISION_INFO, PRECISIONS, QUANTIZED

__all__ = ["BITS", "ELEM_TYPE", "FLOAT_PRECISIONS", "LOWERED", "MIN_QDQ_OPSET", "NOT_FLOAT", "PRECISIONS", "QMAX",
           "QUANTIZED", "QUANT_TYPE", "SHORT", "TYPE_STR", "WIDTH", "is_low"]

# The element type a node computes in, per float precision. TF32 is FP32 storage with
# reduced-precision matrix math chosen by the backend at build time, so in the graph it is
# plain FLOAT.
ELEM_TYPE = {p: getattr(TensorProto, PRECISION_INFO[p].onnx_type) for p in FLOAT_PRECISIONS}
# The type of the Q/DQ pairs of a quantized precision, and the largest value it holds.
QUANT_TYPE = {p: getattr(TensorProto, PRECISION_INFO[p].onnx_type) for p in QUANTIZED}
QMAX = {p: float(PRECISION_INFO[p].qmax or 0) for p in QUANTIZED}
# The oldest opset whose QuantizeLinear takes the type (per-axis Q/DQ needs 13, float8 19).
MIN_QDQ_OPSET = {p: int(PRECISION_INFO[p].min_opset or 0) for p in QUANTIZED}

# The float precision a graph's float element type stands for (fp32, not tf32, for FLOAT).
SHORT = {ELEM_TYPE[p]: p for p in reversed(FLOAT_PRECISIONS)}

# ONNX schemas' type strings of the float types.
TYPE_STR = {TensorProto.FLOAT: "tensor(float)", TensorProto.FLOAT16: "tensor(float16)",
            TensorProto.BFLOAT16: "tensor(bfloat16)"}

# Precisions ordered by width, for "wider than" comparisons (drift, explain).
WIDTH = BITS


def is_low(precision: str) -> bool:
    """True for the float precisions that change the graph's float types (fp16, bf16)."""
    info = PRECISION_INFO.get(precision)
    return info is not None and info.kind == "float" and info.lowered
