"""Evaluates, once at load time, every node whose inputs are all constants.

Exported graphs are full of these: Constant nodes, the Casts trtpipe inserts
after FP32 constants, weight Transposes, QuantizeLinear of weights followed
by DequantizeLinear. Folding them on the CPU, in the node's own dtypes, means
the plan runs only what depends on the inputs; a folded Q -> DQ pair leaves
exactly the fake-quantized weight a run would have computed.
"""
from __future__ import annotations

from typing import Any

from .compile_node import compile_node, constant_value
from .graph import Graph, Node

# Nodes never folded: their value is not a function of their inputs.
NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                "Bernoulli"}


def fold_constants(graph: Graph) -> tuple[list[Node], dict[str, Any], list[str]]:
    """Returns (nodes left to run, constant tensors by name on the CPU, names of folded nodes)."""
    consts: dict[str, Any] = dict(graph.initializers)
    remaining: list[Node] = []
    folded: list[str] = []
    for node in graph.nodes:
        if node.op_type == "Constant":
            consts[node.outputs[0]] = constant_value(node)
            folded.append(node.name)
            continue
        if node.op_type in NOT_FOLDABLE or not all(not t or t in consts for t in node.inputs):
            remaining.append(node)
            continue
        known = {i: consts[t] for i, t in enumerate(node.inputs) if t}
        fn = compile_node(graph, node, known)
        try:
            result = fn(*[consts[t] if t else None for t in node.inputs])
        except (RuntimeError, NotImplementedError, TypeError):
            # A CPU kernel missing for this dtype: leave the node to the device.
            remaining.append(node)
            continue
        results = result if isinstance(result, (tuple, list)) else (result,)
        for name, value in zip(node.outputs, results):
            if name:
                consts[name] = value
        folded.append(node.name)
    return remaining, consts, folded
