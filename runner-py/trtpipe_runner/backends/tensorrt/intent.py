"""The precision trtpipe intended for each ONNX node of the annotated model.

Explain compares it with what the engine realized; legacy mode pins layers to
it. Source, per node: the lockfile row (`resolved`) when the settings carry
the lock, else the annotated graph itself, which is the contract:
- QuantizeLinear / DequantizeLinear: their quantized side (int8, fp8);
- a node whose non-constant float inputs all come from DequantizeLinear of int8/fp8 data
  (Conv, MatMul, Gemm behind Q/DQ): that quantized precision, because
  TensorRT fuses DQ -> op -> Q into one quantized kernel;
- otherwise the float type the node computes in (its first float output,
  else its first float input);
- nodes with no float tensors: "-".
Casts trtpipe inserted (named "trtpipe/...") are bookkeeping, not user nodes.
"""
from __future__ import annotations

from onnx import TensorProto

from ...model.tensors import tensor_types
from ...precision.types import NOT_FLOAT, SHORT

QUANT_TYPES = {
    TensorProto.INT8: "int8",
    TensorProto.UINT8: "int8",
    TensorProto.FLOAT8E4M3FN: "fp8",
    TensorProto.FLOAT8E5M2: "fp8",
}
FLOATS = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16)
INTERNAL_PREFIX = "trtpipe/"


def is_internal(node_name: str) -> bool:
    """True for nodes trtpipe inserted (casts), which explain does not list."""
    return node_name.startswith(INTERNAL_PREFIX)


def intended_precisions(model, lock: dict[str, str] | None = None) -> dict[str, str]:
    """Intended precision per node name, in graph order.

    Args:
        model: the annotated onnx.ModelProto.
        lock: node -> resolved precision from the lockfile, when known.

    Returns:
        {node name: fp32 | tf32 | fp16 | bf16 | int8 | fp8 | -}
    """
    lock = lock or {}
    types = tensor_types(model)
    producer = {out: n for n in model.graph.node for out in n.output}
    constants = {i.name for i in model.graph.initializer}
    constants |= {out for n in model.graph.node if n.op_type == "Constant" for out in n.output}
    result = {}
    for node in model.graph.node:
        if node.name in lock:
            result[node.name] = lock[node.name]
        else:
            result[node.name] = _from_graph(node, types, producer, constants)
    return result


def _from_graph(node, types: dict[str, int], producer: dict, constants: set[str]) -> str:
    if node.op_type == "QuantizeLinear" and node.output:
        return QUANT_TYPES.get(types.get(node.output[0]), NOT_FLOAT)
    if node.op_type == "DequantizeLinear" and node.input:
        return QUANT_TYPES.get(types.get(node.input[0]), NOT_FLOAT)
    # Bias and other constants may stay float next to quantized operands.
    float_inputs = [t for t in node.input if t and t not in constants and types.get(t) in FLOATS]
    quantized = set()
    for t in float_inputs:
        p = producer.get(t)
        if p is not None and p.op_type == "DequantizeLinear" and p.input:
            # An int32 bias behind its own DequantizeLinear (ONNX Runtime's
            # quantize_static writes those) is a constant, not an operand.
            q = QUANT_TYPES.get(types.get(p.input[0]))
            if q is not None:
                quantized.add(q)
        else:
            quantized.add(None)
    if len(quantized) == 1 and None not in quantized:
        return quantized.pop()
    for name in list(node.output) + list(node.input):
        t = types.get(name)
        if t in FLOATS:
            return SHORT[t]
    return NOT_FLOAT
