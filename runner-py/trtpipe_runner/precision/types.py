"""Precision names used in pipelines and lockfiles, and their ONNX types."""
from __future__ import annotations

from onnx import TensorProto

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8", "fp8")
FLOAT_PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
QUANTIZED = ("int8", "fp8")
# Every precision narrower than fp32 storage: what "low precision" counts.
LOWERED = ("fp16", "bf16") + QUANTIZED
NOT_FLOAT = "-"  # lockfile value for nodes that do no floating-point math

# The element type a node computes in for each float precision. TF32 is FP32
# storage with reduced-precision matrix math chosen by the backend at build
# time, so in the graph it is plain FLOAT.
ELEM_TYPE = {
    "fp32": TensorProto.FLOAT,
    "tf32": TensorProto.FLOAT,
    "fp16": TensorProto.FLOAT16,
    "bf16": TensorProto.BFLOAT16,
}

TYPE_STR = {
    TensorProto.FLOAT: "tensor(float)",
    TensorProto.FLOAT16: "tensor(float16)",
    TensorProto.BFLOAT16: "tensor(bfloat16)",
}

SHORT = {TensorProto.FLOAT: "fp32", TensorProto.FLOAT16: "fp16", TensorProto.BFLOAT16: "bf16"}

# Precisions ordered by width, for "wider than" comparisons (drift, explain).
WIDTH = {"fp8": 8, "int8": 8, "fp16": 16, "bf16": 16, "tf32": 19, "fp32": 32}


def is_low(precision: str) -> bool:
    """True for the precisions that change the graph's float types."""
    return precision in ("fp16", "bf16")
