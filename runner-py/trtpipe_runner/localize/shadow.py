"""The FP32 graph cut at every captured tensor: each node recomputed in FP32 on the values the
low-precision graph gave it, so that the error a node adds by itself can be told apart from the
error it receives.

"Output error minus the worst input error" mixes the two: a product of two noisy
activations (attention scores, a GELU's x * (1 + erf)) or a LayerNorm over a
noisy residual shows a larger error than any of its inputs while rounding
nothing (on all-MiniLM-L6-v2 in int8 the top nodes by that difference are
fp32 LayerNorms and GELU products). In the shadow graph every float edge
between measured nodes becomes a graph input fed with the low-precision
graph's value of that tensor, and every node computes in FP32: the difference
between its output there and in the low-precision graph is its own rounding
(a cast, a Q/DQ of its inputs, a quantized weight, a reduced-precision kernel).
Integer edges (shapes, indices) stay connected and are recomputed.
"""
from __future__ import annotations

import onnx

LOW_PREFIX = "trtpipe/low/"


def shadow_model(fp32: onnx.ModelProto, cut: set[str]) -> onnx.ModelProto:
    """A copy of `fp32` whose nodes read `LOW_PREFIX + t` instead of every tensor t in `cut`
    (new float graph inputs); its outputs are left to the caller (calibration/observe.expose)."""
    m = onnx.ModelProto()
    m.CopyFrom(fp32)
    g = m.graph
    fed = {i.name for i in g.input}
    read = set()
    for node in g.node:
        for k, t in enumerate(node.input):
            if t in cut and t not in fed:
                node.input[k] = LOW_PREFIX + t
                read.add(t)
    for t in sorted(read):
        g.input.append(onnx.helper.make_tensor_value_info(LOW_PREFIX + t, onnx.TensorProto.FLOAT, None))
    return m


def shadow_inputs(model: onnx.ModelProto) -> list[str]:
    """The tensors a shadow model reads from the low-precision graph (names without the prefix)."""
    return [i.name[len(LOW_PREFIX):] for i in model.graph.input if i.name.startswith(LOW_PREFIX)]
