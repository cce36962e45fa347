"""Compiling one node: build its NodeView, call its op's compiler, name the node in errors."""
from __future__ import annotations

from typing import Any, Callable

from ...errors import UserError
from .graph import Graph, Node, op_def
from .ops.registry import NodeView


def node_view(graph: Graph, node: Node, consts: dict[int, Any], device: Any = "cpu") -> NodeView:
    return NodeView(node.name, node.op_type, node.inputs, node.outputs, node.attrs, graph.opset,
                    [graph.torch_type(t) if t else None for t in node.inputs],
                    [graph.torch_type(t) if t else None for t in node.outputs], consts, device)


def compile_node(graph: Graph, node: Node, consts: dict[int, Any], device: Any = "cpu") -> Callable:
    """The node's callable, making its outputs on `device`; UserError (naming the node) for
    attribute values it cannot run."""
    opdef = op_def(node.op_type)
    if opdef is None:
        raise UserError(f"the torch backend has no handler for op {node.op_type} (node '{node.name}')",
                        code="UNSUPPORTED_OP", node=node.name)
    try:
        return opdef.compile(node_view(graph, node, consts, device))
    except UserError as exc:
        if not exc.node:
            exc.node = node.name
            exc.message = f"node '{node.name}' ({node.op_type}): {exc.message}"
            exc.args = (exc.message,)
        raise


def constant_value(node: Node):
    """The value of a Constant node as a CPU tensor."""
    import torch

    a = node.attrs
    if "value" in a:
        return a["value"]
    if "value_float" in a:
        return torch.tensor(a["value_float"], dtype=torch.float32)
    if "value_floats" in a:
        return torch.tensor(a["value_floats"], dtype=torch.float32)
    if "value_int" in a:
        return torch.tensor(a["value_int"], dtype=torch.int64)
    if "value_ints" in a:
        return torch.tensor(a["value_ints"], dtype=torch.int64)
    raise UserError(f"the torch backend cannot hold Constant node '{node.name}' (only numeric values)",
                    code="UNSUPPORTED_OP", node=node.name)
