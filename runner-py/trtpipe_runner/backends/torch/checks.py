"""Build-time type checks: every tensor a node reads or writes must be one torch can hold and compute on.

Run by `read_graph` before anything is compiled, so a model the backend
cannot run is refused when it is built (UNSUPPORTED_TYPE, naming the node,
its op and the ONNX type), never half-way through a run:
- strings, complex numbers, 2/4/6-bit types and float8 e8m0 have no torch
  dtype the backend computes in;
- uint16/uint32/uint64 tensors exist in torch, but its kernels for them cover
  little beyond copying (no add, compare, where or gather on the CPU), so
  only the ops below that are known to work take them; CUDA has fewer of
  those kernels than the CPU (no mul, no bitwise and/or/xor), so the list
  depends on the device the model is built for;
- sequences, optionals and maps are not tensors at all.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto

from ...errors import UserError
from .dtypes import TORCH_TYPES

WIDE_UNSIGNED = {TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64}

# Ops whose uint16/32/64 tensors torch handles on every device: moving, viewing and converting
# values, eq, Q/DQ (computed in float32), and Pow's exponent.
UNSIGNED_OK = {"Cast", "CastLike", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Shape",
               "Size", "Transpose", "Expand", "Constant", "Equal", "QuantizeLinear", "DequantizeLinear"}
UNSIGNED_OK_SLOTS = {("Pow", 1)}
# Kernels torch 2.11 has for them on the CPU only: its CUDA mul and bitwise kernels are not built
# for uint16/32/64 ("mul_cuda not implemented for 'UInt16'", measured on an H200; docs/torch.md).
UNSIGNED_OK_CPU_ONLY = {"Mul", "BitwiseAnd", "BitwiseOr", "BitwiseXor"}


def unsigned_ops(device: str) -> set[str]:
    """The ops that take uint16/32/64 tensors on `device` ("cpu", "cuda", "cuda:1")."""
    return UNSIGNED_OK | UNSIGNED_OK_CPU_ONLY if device.split(":")[0] == "cpu" else UNSIGNED_OK


def type_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type) if elem_type in TensorProto.DataType.values() else str(elem_type)


def _refuse(node_name: str, op: str, what: str) -> UserError:
    return UserError(f"the torch backend cannot run node '{node_name}' ({op}): {what}", code="UNSUPPORTED_TYPE",
                     node=node_name)


def _kind(type_proto) -> str:
    kind = type_proto.WhichOneof("value")
    return {"sequence_type": "SEQUENCE", "optional_type": "OPTIONAL", "map_type": "MAP",
            "sparse_tensor_type": "SPARSE_TENSOR"}.get(kind, "")


def check_value_kinds(graph: onnx.GraphProto) -> None:
    """Graph inputs and outputs must be dense tensors (no sequences, optionals, maps)."""
    consumers = {t: (n.name or f"{n.op_type}_{i}", n.op_type) for i, n in enumerate(graph.node) for t in n.input}
    producers = {t: (n.name or f"{n.op_type}_{i}", n.op_type) for i, n in enumerate(graph.node) for t in n.output}
    for role, values, owners in (("input", graph.input, consumers), ("output", graph.output, producers)):
        for vi in values:
            kind = _kind(vi.type)
            if kind:
                node, op = owners.get(vi.name, ("-", "graph " + role))
                raise _refuse(node, op, f"graph {role} '{vi.name}' has ONNX type {kind}, not a tensor; the backend "
                                        "runs dense tensors only")


def check_node_types(graph: onnx.GraphProto, types: dict[str, int], device: str) -> None:
    """UserError UNSUPPORTED_TYPE for the first node reading or writing a type it cannot compute in
    on `device`."""
    unsigned = unsigned_ops(device)
    on_cpu = device.split(":")[0] == "cpu"
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        tensors = [(t, "input", k) for k, t in enumerate(node.input) if t]
        tensors += [(t, "output", k) for k, t in enumerate(node.output) if t]
        tensors += [(f"attribute {a.name}", "type", -1) for a in node.attribute]
        for tensor, role, slot in tensors:
            elem = _attr_type(node, tensor[len("attribute "):]) if role == "type" else types.get(tensor)
            if not elem:
                continue
            if elem not in TORCH_TYPES:
                where = tensor if role == "type" else f"{role} '{tensor}'"
                raise _refuse(name, node.op_type, f"{where} has ONNX type {type_name(elem)}, which torch cannot "
                                                  "hold")
            if elem in WIDE_UNSIGNED and node.op_type not in unsigned and \
                    (node.op_type, slot if role == "input" else -1) not in UNSIGNED_OK_SLOTS:
                where = "" if on_cpu else f" on {device}"
                raise _refuse(name, node.op_type, f"{role} '{tensor}' has ONNX type {type_name(elem)}, and torch "
                                                  f"has no {node.op_type} kernel for it{where} (it mostly copies "
                                                  "and casts UINT16/UINT32/UINT64)")


def _attr_type(node: onnx.NodeProto, attr_name: str) -> int:
    """The element type an attribute names (Cast's `to`, a tensor attribute's type), else 0."""
    for a in node.attribute:
        if a.name != attr_name:
            continue
        if a.type == onnx.AttributeProto.TENSOR:
            return a.t.data_type
        if a.name in ("to", "dtype", "output_datatype") and a.type == onnx.AttributeProto.INT:
            return a.i
    return 0
