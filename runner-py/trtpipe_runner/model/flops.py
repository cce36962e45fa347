"""Floating-point operations per node, at batch 1: for "share of FLOPs in low
precision" figures. Matrix ops count 2*M*N*K, convolutions 2 MACs per
output element and kernel tap; everything else one operation per output element.
"""
from __future__ import annotations

import onnx

from .shapes import attr, concrete_shapes, numel


def node_flops(model: onnx.ModelProto) -> dict[str, int]:
    shapes = concrete_shapes(model)
    flops: dict[str, int] = {}
    for node in model.graph.node:
        out = numel(shapes.get(node.output[0])) if node.output else None
        f = None
        if node.op_type in ("Conv", "ConvTranspose") and len(node.input) > 1:
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
