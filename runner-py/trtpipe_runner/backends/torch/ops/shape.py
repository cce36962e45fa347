"""Shape and layout ops: Shape, Reshape, Transpose, Slice, Gather, Concat, Split, ...

Shape-like values (int64 shapes, axes, starts/ends) are `shape_inputs`: read
as Python lists, and baked into the step when known before the run, so the
common exported pattern Shape -> Gather -> Concat -> Reshape costs nothing
once a plan is specialized to the input shapes.
"""
from __future__ import annotations

import math

from ..dtypes import torch_dtype
from .registry import NodeView, register, to_list


def _torch():
    import torch

    return torch


@register("Shape", meta_inputs=(0,))
def shape(nv: NodeView):
    torch = _torch()
    start, end, device = nv.attr("start", 0), nv.attr("end", None), nv.device
    return lambda x: torch.tensor(x.shape[start:end], dtype=torch.int64, device=device)


@register("Size", meta_inputs=(0,))
def size(nv: NodeView):
    torch, device = _torch(), nv.device
    return lambda x: torch.tensor(x.numel(), dtype=torch.int64, device=device)


def reshape_target(in_shape, target: list[int], allowzero: int) -> list[int]:
    if allowzero:
        return target
    return [in_shape[i] if t == 0 else t for i, t in enumerate(target)]


@register("Reshape", shape_inputs=(1,))
def reshape(nv: NodeView):
    allowzero = nv.attr("allowzero", 0)
    target = nv.const_list(1)
    if target is not None and (allowzero or 0 not in target):
        return lambda x, _s: x.reshape(target)
    return lambda x, s: x.reshape(reshape_target(x.shape, to_list(s), allowzero))


@register("Flatten")
def flatten(nv: NodeView):
    axis = nv.attr("axis", 1)

    def fn(x):
        a = axis + x.dim() if axis < 0 else axis
        return x.reshape(math.prod(x.shape[:a]), math.prod(x.shape[a:]))
    return fn


@register("Transpose")
def transpose(nv: NodeView):
    perm = nv.attr("perm")
    if perm is None:
        return lambda x: x.permute(*reversed(range(x.dim())))
    return lambda x: x.permute(perm)


def _axes(nv: NodeView, slot: int) -> list[int] | None:
    """Axes from the attribute (older opsets) or the constant input (newer)."""
    if "axes" in nv.attrs:
        return list(nv.attr("axes"))
    if nv.has_input(slot):
        return nv.const_list(slot)
    return []


@register("Squeeze", shape_inputs=(1,))
def squeeze(nv: NodeView):
    axes = _axes(nv, 1)
    if axes == []:
        return lambda x, *_: x.squeeze()
    if axes is not None:
        return lambda x, *_: x.squeeze(tuple(axes))
    return lambda x, a: x.squeeze(tuple(to_list(a)))


def _unsqueeze(x, axes: list[int]):
    rank = x.dim() + len(axes)
    for a in sorted(a + rank if a < 0 else a for a in axes):
        x = x.unsqueeze(a)
    return x


@register("Unsqueeze", shape_inputs=(1,))
def unsqueeze(nv: NodeView):
    axes = _axes(nv, 1)
    if axes is not None:
        return lambda x, *_: _unsqueeze(x, axes)
    return lambda x, a: _unsqueeze(x, to_list(a))


@register("Concat")
def concat(nv: NodeView):
    torch = _torch()
    axis = nv.attr("axis")
    return lambda *xs: torch.cat([x for x in xs if x is not None], axis)


@register("Split", shape_inputs=(1,))
def split(nv: NodeView):
    torch = _torch()
    axis = nv.attr("axis", 0)
    parts = len(nv.outputs)
    sizes = nv.attr("split") if "split" in nv.attrs else (nv.const_list(1) if nv.has_input(1) else None)
    if sizes is not None:
        return lambda x, *_: torch.split(x, list(sizes), axis)
    if nv.has_input(1):
        return lambda x, s: torch.split(x, to_list(s), axis)
    # No sizes: equal parts, the last one smaller if the axis does not divide (opset 18).
    return lambda x, *_: torch.split(x, -(-x.shape[axis] // parts), axis)


def _bounds(start: int, end: int, step: int, n: int) -> tuple[int, int]:
    """ONNX Slice's clamping of start/end for an axis of length n."""
    start = start + n if start < 0 else start
    end = end + n if end < 0 else end
    if step > 0:
        return max(0, min(start, n)), max(0, min(end, n))
    return max(0, min(start, n - 1)), max(-1, min(end, n - 1))


def _slice(x, starts, ends, axes, steps):
    torch = _torch()
    index = [slice(None)] * x.dim()
    reversed_axes = []
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis + x.dim() if axis < 0 else axis
        lo, hi = _bounds(start, end, step, x.shape[axis])
        if step > 0:
            index[axis] = slice(lo, hi, step)
        else:  # torch slicing has no negative steps: gather the positions instead
            reversed_axes.append((axis, list(range(lo, hi, step))))
    out = x[tuple(index)]
    for axis, positions in reversed_axes:
        out = out.index_select(axis, torch.tensor(positions, dtype=torch.int64, device=x.device))
    return out


@register("Slice", shape_inputs=(1, 2, 3, 4))
def slice_(nv: NodeView):
    if nv.opset < 10:
        starts, ends = nv.attr("starts"), nv.attr("ends")
        axes = nv.attr("axes", list(range(len(starts))))
        return lambda x: _slice(x, starts, ends, axes, [1] * len(starts))
    known = [nv.const_list(i) if nv.has_input(i) else [] for i in range(1, 5)]
    if all(k is not None for k in known[:2]) and (not nv.has_input(3) or known[2] is not None) and \
            (not nv.has_input(4) or known[3] is not None):
        starts, ends = known[0], known[1]
        axes = known[2] or list(range(len(starts)))
        steps = known[3] or [1] * len(starts)
        return lambda x, *_: _slice(x, starts, ends, axes, steps)

    def fn(x, s, e, a=None, st=None):
        starts, ends = to_list(s), to_list(e)
        axes = to_list(a) if a is not None else list(range(len(starts)))
        steps = to_list(st) if st is not None else [1] * len(starts)
        return _slice(x, starts, ends, axes, steps)
    return fn


@register("Gather")
def gather(nv: NodeView):
    axis = nv.attr("axis", 0)
    idx = nv.const(1)
    if idx is not None and idx.dim() == 0:
        i = int(idx.item())
        return lambda x, _i: x.select(axis, i)
    lead = (slice(None),) * axis if axis >= 0 else None
    if lead is not None:
        # Advanced indexing keeps negative indices' meaning and ONNX's output layout.
        return lambda x, i: x[lead + (i,)]
    return lambda x, i: x[(slice(None),) * (axis + x.dim()) + (i,)]


@register("GatherElements")
def gather_elements(nv: NodeView):
    torch = _torch()
    axis = nv.attr("axis", 0)

    def fn(x, idx):
        return torch.gather(x, axis, torch.where(idx < 0, idx + x.shape[axis], idx))
    return fn


@register("Expand", shape_inputs=(1,))
def expand(nv: NodeView):
    torch = _torch()
    target = nv.const_list(1)
    if target is not None:
        return lambda x, _s: x.expand(torch.broadcast_shapes(x.shape, tuple(target)))
    return lambda x, s: x.expand(torch.broadcast_shapes(x.shape, tuple(to_list(s))))


@register("Tile", shape_inputs=(1,))
def tile(nv: NodeView):
    reps = nv.const_list(1)
    if reps is not None:
        return lambda x, _r: x.repeat(reps)
    return lambda x, r: x.repeat(to_list(r))


@register("ConstantOfShape", shape_inputs=(0,))
def constant_of_shape(nv: NodeView):
    torch = _torch()
    value = nv.attr("value")
    if value is None:
        value = torch.zeros(1, dtype=torch.float32)
    fill, dtype, device = value.reshape(-1)[0].item(), value.dtype, nv.device
    return lambda s: torch.full(to_list(s), fill, dtype=dtype, device=device)


@register("Constant")
def constant(nv: NodeView):
    raise nv.fail("Constant nodes are evaluated when the model loads", code="INTERNAL")


@register("Range", shape_inputs=(0, 1, 2))
def range_(nv: NodeView):
    torch, device = _torch(), nv.device

    def fn(start, limit, delta):
        return torch.arange(start.item(), limit.item(), delta.item(), dtype=start.dtype, device=device)
    return fn


@register("Pad", shape_inputs=(1, 3))
def pad(nv: NodeView):
    import torch.nn.functional as F

    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        nv.attr("mode", "constant"))
    if mode is None:
        raise nv.fail(f"pad mode '{nv.attr('mode')}'")
    if nv.opset < 11:
        pads, value, axes = nv.attr("pads"), nv.attr("value", 0.0), None
    else:  # pads, constant_value and axes are inputs: baked when constant, else read per run
        pads = nv.const_list(1)
        value = nv.const_scalar(2) if nv.has_input(2) else 0.0
        axes = nv.const_list(3) if nv.has_input(3) else None

    def torch_pads(x, onnx_pads: list[int], pad_axes) -> list[int]:
        rank = x.dim()
        ax = [a + rank if a < 0 else a for a in (pad_axes if pad_axes is not None else range(rank))]
        half = len(onnx_pads) // 2
        per_axis = {a: (onnx_pads[i], onnx_pads[i + half]) for i, a in enumerate(ax)}
        flat: list[int] = []
        for a in range(rank - 1, -1, -1):  # F.pad lists the last axis first
            flat.extend(per_axis.get(a, (0, 0)))
        while len(flat) > 2 and flat[-2:] == [0, 0]:  # leading axes left alone (non-constant modes need this)
            del flat[-2:]
        return flat

    if pads is not None and value is not None and (axes is not None or not nv.has_input(3)):
        kwargs = {"value": value} if mode == "constant" else {}
        return lambda x, *_: F.pad(x, torch_pads(x, pads, axes), mode=mode, **kwargs)

    def fn(x, p=None, v=None, a=None):
        fill = value if value is not None else (v.reshape(-1)[0].item() if v.numel() else 0.0)
        kwargs = {"value": fill} if mode == "constant" else {}
        pad_axes = axes if axes is not None else (to_list(a) if a is not None else None)
        return F.pad(x, torch_pads(x, pads if pads is not None else to_list(p), pad_axes), mode=mode, **kwargs)
    return fn


@register("Trilu", shape_inputs=(1,))
def trilu(nv: NodeView):
    torch = _torch()
    k = nv.const_scalar(1) if nv.has_input(1) else 0
    op = torch.triu if nv.attr("upper", 1) else torch.tril
    if k is not None:
        return lambda x, *_: op(x, int(k))
    return lambda x, kt: op(x, int(kt.item()))


@register("EyeLike")
def eye_like(nv: NodeView):
    torch = _torch()
    k = nv.attr("k", 0)
    dtype = torch_dtype(nv.attr("dtype")) if "dtype" in nv.attrs else None

    def fn(x):
        eye = torch.ones(x.shape, dtype=dtype or x.dtype, device=x.device).diagonal(k)
        out = torch.zeros(x.shape, dtype=dtype or x.dtype, device=x.device)
        out.diagonal(k).copy_(eye)
        return out
    return fn


@register("NonZero", data_dependent=True)
def nonzero(nv: NodeView):
    torch = _torch()
    return lambda x: torch.nonzero(x).t().contiguous()


@register("TopK", shape_inputs=(1,))
def topk(nv: NodeView):
    torch = _torch()
    axis, largest = nv.attr("axis", -1), bool(nv.attr("largest", 1))
    k = nv.attr("k") if nv.opset < 10 else nv.const_scalar(1)

    def fn(x, kt=None):
        kk = int(k) if k is not None else int(kt.reshape(-1)[0].item())
        # ONNX wants ties in index order (the lower index first); torch.topk does not promise
        # that, a stable sort does.
        values, indices = torch.sort(x, dim=axis, descending=largest, stable=True)
        return values.narrow(axis, 0, kk), indices.narrow(axis, 0, kk)
    return fn
