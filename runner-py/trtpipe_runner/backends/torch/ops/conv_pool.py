"""Convolutions, pooling and resizing: Conv, ConvTranspose, MaxPool, AveragePool,
GlobalAveragePool, GlobalMaxPool, Resize.

ONNX lists pads as [begin per axis..., end per axis...] and allows them to
differ; torch's kernels take one symmetric pad per axis. Symmetric pads go to
the kernel, anything else is padded explicitly first (zeros for Conv, -inf for
MaxPool). auto_pad SAME_* is resolved from the input's spatial size.
"""
from __future__ import annotations

import math

from .registry import NodeView, register, to_list


def _spatial(nv: NodeView, rank: int, kernel: list[int]):
    strides = nv.attr("strides", [1] * rank)
    dilations = nv.attr("dilations", [1] * rank)
    pads = nv.attr("pads", [0] * (2 * rank))
    return list(strides), list(dilations), list(pads)


def _same_pads(in_size, kernel, strides, dilations, lower: bool) -> list[int]:
    begins, ends = [], []
    for n, k, s, d in zip(in_size, kernel, strides, dilations):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        begins.append(big if lower else small)
        ends.append(small if lower else big)
    return begins + ends


def _torch_pad_list(pads: list[int]) -> list[int]:
    """ONNX [b0, b1, e0, e1] -> F.pad's [b1, e1, b0, e0] (last axis first)."""
    rank = len(pads) // 2
    flat: list[int] = []
    for i in reversed(range(rank)):
        flat += [pads[i], pads[i + rank]]
    return flat


def _pads_for(nv: NodeView, kernel, strides, dilations, pads):
    """A function x -> (explicit F.pad list or None, symmetric per-axis padding)."""
    import torch.nn.functional  # noqa: F401 - fail early if torch is missing

    auto_pad = nv.attr("auto_pad", "NOTSET")
    rank = len(kernel)
    if auto_pad == "VALID":
        return lambda x: (None, [0] * rank)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        lower = auto_pad == "SAME_LOWER"

        def same(x):
            p = _same_pads(x.shape[2:], kernel, strides, dilations, lower)
            return (None, p[:rank]) if p[:rank] == p[rank:] else (_torch_pad_list(p), [0] * rank)
        return same
    if pads[:rank] == pads[rank:]:
        sym = pads[:rank]
        return lambda x: (None, sym)
    explicit = _torch_pad_list(pads)
    return lambda x: (explicit, [0] * rank)


@register("Conv")
def conv(nv: NodeView):
    import torch.nn.functional as F

    weight = nv.const(1)
    kernel = list(nv.attr("kernel_shape") or (weight.shape[2:] if weight is not None else []))
    if not kernel:
        raise nv.fail("kernel_shape is neither an attribute nor readable from a constant weight")
    rank = len(kernel)
    op = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}.get(rank)
    if op is None:
        raise nv.fail(f"{rank}-D convolution")
    strides, dilations, pads = _spatial(nv, rank, kernel)
    groups = nv.attr("group", 1)
    padding = _pads_for(nv, kernel, strides, dilations, pads)
    if nv.attr("auto_pad", "NOTSET") == "NOTSET" and pads[:rank] == pads[rank:]:
        sym = pads[:rank]
        return lambda x, w, b=None: op(x, w, b, strides, sym, dilations, groups)

    def fn(x, w, b=None):
        explicit, sym = padding(x)
        if explicit is not None:
            x = F.pad(x, explicit)
        return op(x, w, b, strides, sym, dilations, groups)
    return fn


@register("ConvTranspose")
def conv_transpose(nv: NodeView):
    import torch.nn.functional as F

    weight = nv.const(1)
    kernel = list(nv.attr("kernel_shape") or (weight.shape[2:] if weight is not None else []))
    rank = len(kernel)
    op = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}.get(rank)
    if op is None:
        raise nv.fail(f"{rank}-D transposed convolution")
    if nv.attr("auto_pad", "NOTSET") != "NOTSET" or "output_shape" in nv.attrs:
        raise nv.fail("auto_pad/output_shape on ConvTranspose (give explicit pads)")
    strides, dilations, pads = _spatial(nv, rank, kernel)
    out_pad = list(nv.attr("output_padding", [0] * rank))
    groups = nv.attr("group", 1)
    begins, ends = pads[:rank], pads[rank:]
    if begins == ends:
        return lambda x, w, b=None: op(x, w, b, strides, begins, out_pad, groups, dilations)

    def fn(x, w, b=None):  # asymmetric: no padding, then crop each axis
        y = op(x, w, b, strides, 0, out_pad, groups, dilations)
        index = [slice(None), slice(None)] + [slice(bg, y.shape[2 + i] - en) for i, (bg, en) in
                                               enumerate(zip(begins, ends))]
        return y[tuple(index)]
    return fn


@register("MaxPool")
def max_pool(nv: NodeView):
    import torch.nn.functional as F

    if len([o for o in nv.outputs if o]) > 1:
        raise nv.fail("the Indices output of MaxPool")
    kernel = list(nv.attr("kernel_shape"))
    rank = len(kernel)
    op = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
    strides, dilations, pads = _spatial(nv, rank, kernel)
    ceil = bool(nv.attr("ceil_mode", 0))
    padding = _pads_for(nv, kernel, strides, dilations, pads)

    def fn(x):
        explicit, sym = padding(x)
        if explicit is None and any(2 * p > k for p, k in zip(sym, kernel)):
            explicit, sym = _torch_pad_list(sym + sym), [0] * rank  # torch limits pads to half the kernel
        if explicit is not None:
            x = F.pad(x, explicit, value=float("-inf"))
        return op(x, kernel, strides, sym, dilations, ceil)
    return fn


@register("AveragePool")
def average_pool(nv: NodeView):
    import torch
    import torch.nn.functional as F

    kernel = list(nv.attr("kernel_shape"))
    rank = len(kernel)
    op = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
    strides, dilations, pads = _spatial(nv, rank, kernel)
    if any(d != 1 for d in dilations):
        raise nv.fail("dilated AveragePool")
    ceil = bool(nv.attr("ceil_mode", 0))
    include = bool(nv.attr("count_include_pad", 0))
    padding = _pads_for(nv, kernel, strides, dilations, pads)

    def fn(x):
        explicit, sym = padding(x)
        if explicit is None and all(2 * p <= k for p, k in zip(sym, kernel)):
            return op(x, kernel, strides, sym, ceil, include)
        explicit = explicit or _torch_pad_list(sym + sym)
        padded = F.pad(x, explicit)
        total = op(padded, kernel, strides, 0, ceil, True, divisor_override=1) if rank > 1 else \
            op(padded, kernel, strides, 0, ceil, True) * kernel[0]
        if include:
            return total / math.prod(kernel)
        ones = F.pad(torch.ones_like(x[:1, :1]), explicit)
        count = op(ones, kernel, strides, 0, ceil, True, divisor_override=1) if rank > 1 else \
            op(ones, kernel, strides, 0, ceil, True) * kernel[0]
        return total / count
    return fn


@register("GlobalAveragePool")
def global_average_pool(nv: NodeView):
    return lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


@register("GlobalMaxPool")
def global_max_pool(nv: NodeView):
    return lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True)


_LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@register("Resize", shape_inputs=(1, 2, 3))
def resize(nv: NodeView):
    """The common Resize forms: nearest (asymmetric, floor) and linear (half_pixel / align_corners)."""
    import torch.nn.functional as F

    mode = nv.attr("mode", "nearest")
    ctm = nv.attr("coordinate_transformation_mode", "half_pixel")
    if nv.opset < 11:
        raise nv.fail("Resize before opset 11")
    if mode == "nearest":
        if ctm != "asymmetric" or nv.attr("nearest_mode", "round_prefer_floor") != "floor":
            raise nv.fail(f"nearest mode with coordinate_transformation_mode '{ctm}' and nearest_mode "
                          f"'{nv.attr('nearest_mode', 'round_prefer_floor')}' (supported: asymmetric + floor)")
        kwargs = {"mode": "nearest"}
    elif mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        kwargs = {"align_corners": ctm == "align_corners"}
    else:
        raise nv.fail(f"mode '{mode}' with coordinate_transformation_mode '{ctm}'")
    if nv.attr("antialias", 0) or nv.attr("axes") is not None:
        raise nv.fail("antialias/axes on Resize")
    scales = nv.const_list(2) if nv.has_input(2) else None
    sizes = nv.const_list(3) if nv.has_input(3) else None

    def fn(x, _roi=None, sc=None, sz=None):
        s = scales if scales is not None else (to_list_f(sc) if sc is not None and sc.numel() else None)
        z = sizes if sizes is not None else (to_list(sz) if sz is not None else None)
        args = dict(kwargs)
        if mode == "linear":
            args["mode"] = _LINEAR[x.dim() - 2]
        if z:
            return F.interpolate(x, size=[int(v) for v in z[2:]], **args)
        if s and (s[0] != 1 or s[1] != 1):
            raise ValueError("Resize scales on batch/channel axes")
        return F.interpolate(x, scale_factor=[float(v) for v in s[2:]], **args)
    return fn


def to_list_f(value) -> list[float]:
    return [float(v) for v in value.reshape(-1).tolist()]
