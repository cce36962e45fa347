"""Convolutions and pooling: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool,
GlobalMaxPool (Resize is in resize.py).

ONNX lists pads as [begin per axis..., end per axis...] and allows them to
differ; torch's kernels take one symmetric pad per axis. Symmetric pads go to
the kernel, anything else is padded explicitly first (zeros for Conv, -inf for
MaxPool). auto_pad SAME_* is resolved from the input's spatial size.
"""
from __future__ import annotations

import math

from .registry import NodeView, register


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


def _per_kernel(make):
    """For a weight known only at run time (no kernel_shape attribute): compiles once per kernel shape."""
    compiled: dict[tuple, object] = {}

    def fn(x, w, b=None):
        kernel = tuple(w.shape[2:])
        f = compiled.get(kernel)
        if f is None:
            f = compiled[kernel] = make(list(kernel))
        return f(x, w, b)
    return fn


def _kernel(nv: NodeView) -> list[int]:
    weight = nv.const(1)
    return list(nv.attr("kernel_shape") or (weight.shape[2:] if weight is not None else []))


@register("Conv")
def conv(nv: NodeView):
    kernel = _kernel(nv)
    return _conv(nv, kernel) if kernel else _per_kernel(lambda k: _conv(nv, k))


def _conv(nv: NodeView, kernel: list[int]):
    import torch.nn.functional as F

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
    kernel = _kernel(nv)
    return _conv_transpose(nv, kernel) if kernel else _per_kernel(lambda k: _conv_transpose(nv, k))


def _conv_transpose(nv: NodeView, kernel: list[int]):
    import torch.nn.functional as F

    rank = len(kernel)
    op = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}.get(rank)
    if op is None:
        raise nv.fail(f"{rank}-D transposed convolution")
    strides, dilations, pads = _spatial(nv, rank, kernel)
    out_pad = list(nv.attr("output_padding", [0] * rank))
    groups = nv.attr("group", 1)
    auto_pad, output_shape = nv.attr("auto_pad", "NOTSET"), nv.attr("output_shape")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER") or output_shape is not None:
        return _conv_transpose_to_shape(op, strides, dilations, groups, kernel, out_pad, pads, auto_pad,
                                        output_shape)
    begins, ends = (pads[:rank], pads[rank:]) if auto_pad != "VALID" else ([0] * rank, [0] * rank)
    if begins == ends:
        return lambda x, w, b=None: op(x, w, b, strides, begins, out_pad, groups, dilations)

    def fn(x, w, b=None):  # asymmetric: no padding, then crop each axis
        y = op(x, w, b, strides, 0, out_pad, groups, dilations)
        index = [slice(None), slice(None)] + [slice(bg, y.shape[2 + i] - en) for i, (bg, en) in
                                               enumerate(zip(begins, ends))]
        return y[tuple(index)]
    return fn


def _conv_transpose_to_shape(op, strides, dilations, groups, kernel, out_pad, pads, auto_pad, output_shape):
    """ConvTranspose with auto_pad SAME_* or an output_shape: the full result, cropped or zero-extended
    to the wanted length on each axis, then the bias (ONNX's total_padding rule)."""
    import torch.nn.functional as F

    rank = len(kernel)

    def fn(x, w, b=None):
        y = op(x, w, None, strides, 0, 0, groups, dilations)
        full = [s * (n - 1) + (k - 1) * d + 1 for s, n, k, d in zip(strides, x.shape[2:], kernel, dilations)]
        want = list(output_shape[-rank:]) if output_shape is not None else [n * s for n, s in
                                                                             zip(x.shape[2:], strides)]
        flat: list[int] = []
        for i in reversed(range(rank)):  # F.pad lists the last axis first; negative amounts crop
            total = full[i] + out_pad[i] - want[i]
            if auto_pad == "SAME_UPPER":
                begin = total // 2
            elif auto_pad == "SAME_LOWER":
                begin = total - total // 2
            else:  # an output_shape with explicit (or no) pads: the pads' begins stay, the end follows
                begin = pads[i]
            flat += [-begin, want[i] - (full[i] - begin)]
        y = F.pad(y, flat)
        return y if b is None else y + b.reshape(1, -1, *([1] * rank))
    return fn


@register("MaxPool")
def max_pool(nv: NodeView):
    import torch
    import torch.nn.functional as F

    if len([o for o in nv.outputs if o]) > 1:
        raise nv.fail("the Indices output of MaxPool")
    kernel = list(nv.attr("kernel_shape"))
    rank = len(kernel)
    op = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
    strides, dilations, pads = _spatial(nv, rank, kernel)
    ceil = bool(nv.attr("ceil_mode", 0))
    padding = _pads_for(nv, kernel, strides, dilations, pads)

    # ONNX's integer MaxPool types are int8 and uint8; torch's CUDA max-pool kernels are floating
    # point only. float32 holds every int8/uint8 value exactly (and pads with a true -inf), so the
    # max is the same: computed that way on every device, the path the CPU tests run is CUDA's.
    integer = nv.in_dtype(0) in (torch.int8, torch.uint8)

    def fn(x):
        dtype = x.dtype
        if integer:
            x = x.float()
        explicit, sym = padding(x)
        if explicit is None and any(2 * p > k for p, k in zip(sym, kernel)):
            explicit, sym = _torch_pad_list(sym + sym), [0] * rank  # torch limits pads to half the kernel
        if explicit is not None:
            x = F.pad(x, explicit, value=float("-inf"))
        y = op(x, kernel, strides, sym, dilations, ceil)
        return y.to(dtype) if integer else y
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
