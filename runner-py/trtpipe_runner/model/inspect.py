"""A JSON description of a model: what the inspect stage returns."""
from __future__ import annotations

from collections import Counter

from .load import opset_version
from .tensors import graph_inputs, graph_outputs


def describe(model) -> dict:
    """Inputs, outputs, opset, op counts and every node (name, op, tensors)."""
    g = model.graph
    params = sum(_numel(i.dims) for i in g.initializer)
    return {
        "opset": opset_version(model),
        "ir_version": model.ir_version,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": [s.to_json() for s in graph_inputs(model)],
        "outputs": [s.to_json() for s in graph_outputs(model)],
        "node_count": len(g.node),
        "initializer_count": len(g.initializer),
        "parameter_count": params,
        "op_counts": dict(sorted(Counter(n.op_type for n in g.node).items())),
        "nodes": [
            {"name": n.name, "op": n.op_type, "inputs": list(n.input), "outputs": list(n.output)}
            for n in g.node
        ],
    }


def _numel(dims) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n
