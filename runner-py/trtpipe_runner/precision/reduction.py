"""Reduction depth: how many values a node sums up to produce one output.

Long FP16 accumulations lose precision (and can overflow) even when every
input is in range; `safety.reduction_depth` keeps nodes that reduce over more
values than that in FP32 (AutoCast's max_depth_of_reduction). Sizes come from
concrete shapes at batch 1; unknown sizes do not trigger the rule.
"""
from __future__ import annotations

import onnx
from onnx import numpy_helper

from ..model.shapes import attr, numel

REDUCE_OPS = {"ReduceSum", "ReduceMean", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
              "ReduceLogSumExp", "ReduceProd"}


def reduction_depth(node, shapes: dict, inits: dict) -> int | None:
    """Values reduced per output element, or None if not a reduction / unknown."""
    op = node.op_type
    x = shapes.get(node.input[0]) if node.input else None
    if x is None:
        return None
    if op in REDUCE_OPS:
        axes = attr(node, "axes")
        if axes is None and len(node.input) > 1 and node.input[1] in inits:
            axes = numpy_helper.to_array(inits[node.input[1]]).tolist()
        axes = list(range(len(x))) if not axes else [a % len(x) for a in axes]
        return numel([x[a] for a in axes])
    if op in ("Softmax", "LogSoftmax"):
        axis = attr(node, "axis", -1) % len(x)
        return x[axis]
    if op == "LayerNormalization":
        axis = attr(node, "axis", -1) % len(x)
        return numel(x[axis:])
    if op == "MatMul":
        return x[-1]
    if op == "Gemm":
        return x[0] if attr(node, "transA", 0) else x[-1]
    if op in ("Conv", "ConvTranspose") and len(node.input) > 1:
        w = shapes.get(node.input[1])
        return numel(w[1:]) if w else None
    return None


def all_reduction_depths(model: onnx.ModelProto) -> dict[str, int]:
    from ..model.shapes import concrete_shapes

    shapes = concrete_shapes(model)
    inits = {i.name: i for i in model.graph.initializer}
    out = {}
    for node in model.graph.node:
        depth = reduction_depth(node, shapes, inits)
        if depth is not None:
            out[node.name] = int(depth)
    return out
