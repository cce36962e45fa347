"""The ONNX graph as the converter sees it: nodes with decoded attributes, typed tensors.

Everything is checked here, before anything runs: ops without a handler (or
outside the default ONNX domain) are one UserError (UNSUPPORTED_OP) naming
every such node, so a user learns at build time what the backend cannot run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import onnx

from ...errors import UserError
from ...model.load import opset_version
from ...model.tensors import TensorSpec, graph_inputs, tensor_types
from .checks import check_node_types, check_value_kinds
from .dtypes import tensor_from_onnx, torch_dtype
from .ops.registry import OpDef, load_all

# Ops whose outputs are fixed at load time (no inputs, or folded as constants).
CONSTANT_OPS = {"Constant"}


@dataclass
class Node:
    """One node to run; `fused_from` lists the ONNX nodes a fused node replaces."""

    name: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    fused_from: list[str] = field(default_factory=list)

    def originals(self) -> list[str]:
        return self.fused_from or [self.name]


@dataclass
class Graph:
    nodes: list[Node]
    initializers: dict[str, Any]  # name -> CPU torch tensor
    types: dict[str, int]  # tensor -> ONNX element type
    inputs: list[TensorSpec]
    outputs: list[str]
    opset: int

    def torch_type(self, tensor: str):
        t = self.types.get(tensor)
        if not t:
            return None
        try:
            return torch_dtype(t)
        except UserError:
            return None


def decode_attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """Attribute values as Python values: bytes -> str, tensors -> torch tensors."""
    out: dict[str, Any] = {}
    for attr in node.attribute:
        value = onnx.helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, onnx.TensorProto):
            value = tensor_from_onnx(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8") for v in value]
        out[attr.name] = value
    return out


def read_graph(model: onnx.ModelProto, device: str = "cuda") -> Graph:
    """Decodes the model and checks that every node has a handler and torch kernels on `device`.

    Raises:
        UserError UNSUPPORTED_OP naming the first unsupported node (and how many
            others there are, with their op types); UNSUPPORTED_TYPE naming the
            first node with a tensor type the backend cannot compute in (checks.py).
    """
    registry = load_all()
    g = model.graph
    unsupported = []
    for i, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{i}"
        domain = node.domain or ""
        if domain not in ("", "ai.onnx") or (node.op_type not in registry and node.op_type not in CONSTANT_OPS):
            unsupported.append((name, f"{domain + '::' if domain else ''}{node.op_type}"))
    if unsupported:
        first, op = unsupported[0]
        others = sorted({o for _, o in unsupported[1:]})
        more = (f"; {len(unsupported) - 1} more node(s) are unsupported too (ops: {', '.join(others)})"
                if len(unsupported) > 1 else "")
        raise UserError(
            f"the torch backend has no handler for op {op} (node '{first}'){more}. Run this model on another "
            "backend, or rewrite the node into supported ops", code="UNSUPPORTED_OP", node=first)
    types = tensor_types(model)
    check_value_kinds(g)
    check_node_types(g, types, device)
    nodes = [Node(n.name or f"{n.op_type}_{i}", n.op_type, list(n.input), list(n.output), decode_attrs(n))
             for i, n in enumerate(g.node)]
    inits = {i.name: tensor_from_onnx(i) for i in g.initializer}
    return Graph(nodes, inits, types, graph_inputs(model), [o.name for o in g.output],
                 opset_version(model))


def op_def(op_type: str) -> OpDef | None:
    return load_all().get(op_type)
