"""Floating-point operations per node: for "share of FLOPs in low precision"
figures. Matrix ops count 2*M*N*K, convolutions 2 MACs per output element and
kernel tap; nodes that compute nothing (Constant, Shape, ...) count 0;
everything else one operation per output element.

Dynamic dimensions take the shapes the pipeline runs: its declared
`inputs.opt`, else the evaluation data's (one sample); pinning them to 1 would
make every MatMul over a sequence axis look free.
"""
from __future__ import annotations

import onnx

from .shapes import attr, concrete_shapes, numel

# Nodes that produce values without arithmetic on tensor data.
NO_COMPUTE = {"Constant", "ConstantOfShape", "Shape", "Size"}


def flop_shapes(declared: dict | None, dataset=None) -> dict[str, list[int]] | None:
    """The input shapes FLOPs are counted at: the declared `inputs.opt` shapes,
    else one sample of the evaluation data (its leading axis is the sample axis)."""
    if declared:
        return {name: list(r["opt"]) if isinstance(r, dict) else list(r) for name, r in declared.items()}
    if dataset is not None:
        return {name: [1, *arr.shape[1:]] for name, arr in dataset.inputs.items()}
    return None


def node_flops(model: onnx.ModelProto, inputs: dict[str, list[int]] | None = None) -> dict[str, int]:
    """FLOPs per node name at the given input shapes (flop_shapes); unknown shapes count 0."""
    shapes = concrete_shapes(model, inputs=inputs)
    flops: dict[str, int] = {}
    for node in model.graph.node:
        out = numel(shapes.get(node.output[0])) if node.output else None
        f = None
        if node.op_type in NO_COMPUTE:
            f = 0
        elif node.op_type in ("Conv", "ConvTranspose") and len(node.input) > 1:
            w = shapes.get(node.input[1])
            if out is not None and w and all(d is not None for d in w):
                per_output = numel(w[1:])  # Cin/group * kernel taps
                if node.op_type == "ConvTranspose":
                    per_output = w[0] * numel(w[2:]) // max(1, int(attr(node, "group", 1)))
                f = 2 * out * per_output
        elif node.op_type in ("MatMul", "Gemm"):
            a = shapes.get(node.input[0])
            if out is not None and a:
                k = a[0] if (node.op_type == "Gemm" and attr(node, "transA", 0)) else a[-1]
                if k is not None:
                    f = 2 * out * int(k)
        elif out is not None:
            f = out
        flops[node.name] = int(f) if f is not None else 0
    return flops
