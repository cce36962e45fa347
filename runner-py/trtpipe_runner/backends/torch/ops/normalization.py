"""Normalizations and softmax: BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization, LpNormalization, Softmax, LogSoftmax, Hardmax.

torch's kernels for these accumulate in fp32 for fp16/bf16 inputs and store
the result in the input's type, which is what ONNX's stash_type=1 asks for
and what TensorRT's normalization kernels do.
"""
from __future__ import annotations

import math

from .registry import NodeView, register


@register("BatchNormalization")
def batch_norm(nv: NodeView):
    import torch.nn.functional as F

    if nv.attr("training_mode", 0) or len([o for o in nv.outputs if o]) > 1:
        raise nv.fail("training mode (running statistics outputs)")
    eps = nv.attr("epsilon", 1e-5)
    return lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias, False, 0.0, eps)


@register("LayerNormalization")
def layer_norm(nv: NodeView):
    import torch.nn.functional as F

    if len([o for o in nv.outputs if o]) > 1:
        raise nv.fail("the Mean/InvStdDev outputs")
    axis, eps = nv.attr("axis", -1), nv.attr("epsilon", 1e-5)

    def fn(x, scale, bias=None):
        a = axis + x.dim() if axis < 0 else axis
        shape = x.shape[a:]
        if scale.shape == shape and (bias is None or bias.shape == shape):
            return F.layer_norm(x, shape, scale, bias, eps)
        y = F.layer_norm(x, shape, None, None, eps) * scale  # scale/bias broadcast, not of the normalized shape
        return y + bias if bias is not None else y
    return fn


@register("InstanceNormalization")
def instance_norm(nv: NodeView):
    import torch.nn.functional as F

    eps = nv.attr("epsilon", 1e-5)
    return lambda x, scale, bias: F.instance_norm(x, weight=scale, bias=bias, eps=eps)


@register("GroupNormalization")
def group_norm(nv: NodeView):
    import torch.nn.functional as F

    groups, eps = nv.attr("num_groups"), nv.attr("epsilon", 1e-5)

    def fn(x, scale, bias):
        channels = x.shape[1]
        if scale.numel() != channels:  # opset 18: one scale/bias per group
            scale = scale.repeat_interleave(channels // groups)
            bias = bias.repeat_interleave(channels // groups)
        return F.group_norm(x, groups, scale, bias, eps)
    return fn


@register("LpNormalization")
def lp_norm(nv: NodeView):
    import torch

    axis, p = nv.attr("axis", -1), nv.attr("p", 2)

    def fn(x):
        norm = torch.linalg.vector_norm(x, p, dim=axis, keepdim=True)
        return torch.where(norm == 0, torch.zeros((), dtype=x.dtype, device=x.device), x / norm)  # ONNX: 0, not NaN
    return fn


def _coerced(fn, axis: int):
    """Opsets before 13 apply softmax-like ops to the input flattened to 2-D at `axis`."""
    def run(x):
        a = axis + x.dim() if axis < 0 else axis
        flat = x.reshape(math.prod(x.shape[:a]), -1)
        return fn(flat, 1).reshape(x.shape)
    return run


def _softmax_like(nv: NodeView, fn):
    if nv.opset < 13:
        return _coerced(fn, nv.attr("axis", 1))
    axis = nv.attr("axis", -1)
    return lambda x: fn(x, axis)


@register("Softmax")
def softmax(nv: NodeView):
    import torch

    return _softmax_like(nv, torch.softmax)


@register("LogSoftmax")
def log_softmax(nv: NodeView):
    import torch

    return _softmax_like(nv, torch.log_softmax)


@register("Hardmax")
def hardmax(nv: NodeView):
    import torch
    import torch.nn.functional as F

    def fn(x, axis):
        hot = F.one_hot(torch.argmax(x, axis), x.shape[axis]).to(x.dtype)
        return hot.movedim(-1, axis)
    return _softmax_like(nv, fn)
