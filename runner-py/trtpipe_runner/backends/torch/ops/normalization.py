"""Normalizations and softmax: BatchNormalization, LayerNormalization, RMSNormalization,
MeanVarianceNormalization, LRN, InstanceNormalization, GroupNormalization, LpNormalization, Softmax,
LogSoftmax, Hardmax.

torch's kernels for these accumulate in fp32 for fp16/bf16 inputs and store
the result in the input's type, which is what ONNX's stash_type=1 asks for
and what TensorRT's normalization kernels do.
"""
from __future__ import annotations

import math

from ..dtypes import torch_dtype
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

    axis, eps = nv.attr("axis", -1), nv.attr("epsilon", 1e-5)
    if len([o for o in nv.outputs if o]) > 1:
        return _layer_norm_with_stats(nv, axis, eps)

    def fn(x, scale, bias=None):
        a = axis + x.dim() if axis < 0 else axis
        shape = x.shape[a:]
        if scale.shape == shape and (bias is None or bias.shape == shape):
            return F.layer_norm(x, shape, scale, bias, eps)
        y = F.layer_norm(x, shape, None, None, eps) * scale  # scale/bias broadcast, not of the normalized shape
        return y + bias if bias is not None else y
    return fn


def _layer_norm_with_stats(nv: NodeView, axis: int, eps: float):
    """LayerNormalization with its Mean/InvStdDev outputs, as ONNX's function body computes it: the
    statistics and the normalized values in stash_type, cast to the input's type before scale and bias."""
    import torch

    stash = torch_dtype(nv.attr("stash_type", 1))

    def fn(x, scale, bias=None):
        a = axis + x.dim() if axis < 0 else axis
        dims = tuple(range(a, x.dim()))
        xs = x.to(stash)
        mean = xs.mean(dims, keepdim=True)
        centered = xs - mean
        inv_std = torch.rsqrt((centered * centered).mean(dims, keepdim=True) + eps)
        y = (centered * inv_std).to(x.dtype) * scale
        return (y + bias if bias is not None else y), mean, inv_std
    return fn


@register("RMSNormalization")
def rms_norm(nv: NodeView):
    """x / sqrt(mean(x^2) + eps) over the axes from `axis` on, in stash_type, then * scale."""
    import torch

    axis, eps = nv.attr("axis", -1), nv.attr("epsilon", 1e-5)
    stash = torch_dtype(nv.attr("stash_type", 1))

    def fn(x, scale):
        a = axis + x.dim() if axis < 0 else axis
        xs = x.to(stash)
        rms = torch.rsqrt((xs * xs).mean(tuple(range(a, x.dim())), keepdim=True) + eps)
        return (xs * rms).to(x.dtype) * scale
    return fn


@register("MeanVarianceNormalization")
def mean_variance_norm(nv: NodeView):
    """(x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes`, as ONNX's function body."""
    import torch

    axes = tuple(nv.attr("axes", [0, 2, 3]))

    def fn(x):
        mean = x.mean(axes, keepdim=True)
        std = torch.sqrt((x * x).mean(axes, keepdim=True) - mean * mean)
        return (x - mean) / (std + 1e-9)
    return fn


@register("LRN")
def lrn(nv: NodeView):
    """Local response normalization across channels; ONNX's window for an even size extends one
    channel further after c than before it (torch's F.local_response_norm does the opposite)."""
    import torch.nn.functional as F

    size, alpha = nv.attr("size"), nv.attr("alpha", 1e-4)
    beta, bias = nv.attr("beta", 0.75), nv.attr("bias", 1.0)
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2

    def fn(x):
        sq = F.pad((x * x).movedim(1, -1), (before, after))
        window = sq.unfold(-1, size, 1).sum(-1).movedim(-1, 1)
        return x / (bias + alpha / size * window) ** beta
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
