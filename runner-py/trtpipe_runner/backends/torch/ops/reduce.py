"""Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare, ArgMax/ArgMin, CumSum/CumProd.

Axes come from the attribute (older opsets) or the second input (ReduceSum
from opset 13, the others from 18). fp16/bf16 sums and means accumulate in
fp32 inside torch's kernels and store the input's type.
"""
from __future__ import annotations

import math

from .registry import NodeView, register, to_list


def _reducer(op: str):
    import torch

    return {
        "ReduceSum": lambda x, d, k: torch.sum(x, d, k),
        "ReduceMean": lambda x, d, k: torch.mean(x, d, k),
        "ReduceMax": lambda x, d, k: _extreme(torch.amax, x, d, k, -1),
        "ReduceMin": lambda x, d, k: _extreme(torch.amin, x, d, k, 1),
        "ReduceProd": lambda x, d, k: _prod(x, d, k),
        "ReduceL1": lambda x, d, k: torch.sum(torch.abs(x), d, k),
        "ReduceL2": lambda x, d, k: torch.sqrt(torch.sum(x * x, d, k)),
        "ReduceSumSquare": lambda x, d, k: torch.sum(x * x, d, k),
        "ReduceLogSum": lambda x, d, k: torch.log(torch.sum(x, d, k)),
        "ReduceLogSumExp": lambda x, d, k: torch.logsumexp(x, d, k),
    }[op]


def _extreme(op, x, dims, keep, sign: int):
    """amax/amin; over an empty axis ONNX gives the reduction's identity (-inf for Max, +inf for Min,
    the type's lowest/highest value for integers and booleans), where torch raises."""
    import torch

    if x.numel():
        return op(x, dims, keep)
    shape = [1 if d in dims else n for d, n in enumerate(x.shape)] if keep else \
        [n for d, n in enumerate(x.shape) if d not in dims]
    if x.dtype.is_floating_point:
        fill = sign * math.inf
    elif x.dtype == torch.bool:
        fill = sign > 0
    else:
        fill = torch.iinfo(x.dtype).max if sign > 0 else torch.iinfo(x.dtype).min
    return torch.full(shape, fill, dtype=x.dtype, device=x.device)


def _prod(x, dims, keep):
    for d in sorted(dims, reverse=True):
        x = x.prod(d, keepdim=keep)
    return x


@register("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", shape_inputs=(1,))
def reduce(nv: NodeView):
    fn = _reducer(nv.op_type)
    keep = bool(nv.attr("keepdims", 1))
    noop = bool(nv.attr("noop_with_empty_axes", 0))
    if "axes" in nv.attrs:
        axes = list(nv.attr("axes"))
    elif nv.has_input(1):
        axes = nv.const_list(1)
    else:
        axes = []

    def run(x, dims: list[int]):
        if not dims:
            if noop:
                return x
            dims = list(range(x.dim()))
        dims = [d + x.dim() if d < 0 else d for d in dims]
        return fn(x, dims, keep)

    if axes is not None:
        return lambda x, *_: run(x, axes)
    return lambda x, a: run(x, to_list(a))


@register("ArgMax", "ArgMin")
def arg_reduce(nv: NodeView):
    import torch

    op = torch.argmax if nv.op_type == "ArgMax" else torch.argmin
    axis, keep, last = nv.attr("axis", 0), bool(nv.attr("keepdims", 1)), bool(nv.attr("select_last_index", 0))
    if not last:
        return lambda x: op(x, axis, keep)

    def fn(x):  # the last extreme: search the flipped axis, map back
        flipped = op(torch.flip(x, (axis,)), axis, keep)
        return x.shape[axis] - 1 - flipped
    return fn


@register("CumSum", "CumProd", shape_inputs=(1,))
def cumulative(nv: NodeView):
    import torch

    exclusive, reverse = bool(nv.attr("exclusive", 0)), bool(nv.attr("reverse", 0))
    product = nv.op_type == "CumProd"
    known = nv.const_scalar(1)

    def run(x, axis: int):
        y = torch.flip(x, (axis,)) if reverse else x
        if exclusive:  # shift by one along the axis, the reduction's identity first
            first = torch.full_like(y.narrow(axis, 0, 1), 1 if product else 0)
            y = torch.cat([first, y.narrow(axis, 0, y.shape[axis] - 1)], axis)
        out = torch.cumprod(y, axis, dtype=x.dtype) if product else torch.cumsum(y, axis, dtype=x.dtype)
        return torch.flip(out, (axis,)) if reverse else out

    if known is not None:
        return lambda x, _a: run(x, int(known))
    return lambda x, a: run(x, int(to_list(a)[0]))
