"""Indexed reads and writes: GatherND, ScatterND, ScatterElements (and the old Scatter), OneHot.

ONNX indices may be negative (counted from the end of their axis); torch's
scatter kernels want them in range, so they are wrapped first. Every scatter
writes into a copy: ONNX ops never modify their inputs.
"""
from __future__ import annotations

import math

from .registry import NodeView, register, to_list

_REDUCE = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}


def _torch():
    import torch

    return torch


def _wrap(idx, size):
    """Negative indices counted from the end of an axis of length `size` (a number or a tensor)."""
    return _torch().where(idx < 0, idx + size, idx)


@register("GatherND")
def gather_nd(nv: NodeView):
    torch = _torch()
    b = nv.attr("batch_dims", 0)

    def fn(data, idx):
        k = idx.shape[-1]
        batch = math.prod(data.shape[:b])
        flat = data.reshape(batch, *data.shape[b:])  # [B, s_1..s_k, rest...]
        ix = idx.reshape(batch, -1, k)  # [B, N, k]
        rows = torch.arange(batch, device=data.device).unsqueeze(1).expand(batch, ix.shape[1])
        picked = flat[(rows, *ix.unbind(-1))]  # advanced indexing takes negative indices as ONNX does
        return picked.reshape(*idx.shape[:-1], *data.shape[b + k:])
    return fn


def _linear_index(data, idx):
    """ScatterND's index tuples as positions in data flattened over its first k axes. Only Python
    numbers meet the device tensors here: no host-to-device copy, so a CUDA graph can hold it."""
    k = idx.shape[-1]
    ix = idx.reshape(-1, k).to(_torch().int64)
    pos = None
    for j in range(k):
        size, stride = data.shape[j], math.prod(data.shape[j + 1:k])
        term = (ix[:, j] % size) * stride  # ONNX indices lie in [-size, size): % wraps the negative ones
        pos = term if pos is None else pos + term
    return pos, k


@register("ScatterND")
def scatter_nd(nv: NodeView):
    reduction = nv.attr("reduction", "none")
    if reduction != "none" and reduction not in _REDUCE:
        raise nv.fail(f"reduction '{reduction}'")

    def fn(data, idx, updates):
        pos, k = _linear_index(data, idx)
        out = data.clone(memory_format=_torch().contiguous_format)
        flat = out.view(-1, *data.shape[k:])
        rows = updates.reshape(-1, *data.shape[k:]).to(data.dtype)
        if reduction == "none":
            flat.index_copy_(0, pos, rows)  # ONNX leaves duplicate indices undefined
        elif reduction == "add":
            flat.index_add_(0, pos, rows)
        else:
            flat.index_reduce_(0, pos, rows, _REDUCE[reduction], include_self=True)
        return out
    return fn


@register("ScatterElements", "Scatter")
def scatter_elements(nv: NodeView):
    torch = _torch()
    axis = nv.attr("axis", 0)
    reduction = nv.attr("reduction", "none")
    if reduction != "none" and reduction not in _REDUCE:
        raise nv.fail(f"reduction '{reduction}'")

    def fn(data, idx, updates):
        a = axis + data.dim() if axis < 0 else axis
        index = _wrap(idx.to(torch.int64), data.shape[a])
        if reduction == "none":
            return data.scatter(a, index, updates)
        return data.scatter_reduce(a, index, updates, _REDUCE[reduction], include_self=True)
    return fn


@register("OneHot", shape_inputs=(1,))
def one_hot(nv: NodeView):
    torch = _torch()
    axis = nv.attr("axis", -1)
    known = nv.const_scalar(1)

    def run(indices, depth: int, values):
        d = int(depth)
        idx = indices if not indices.dtype.is_floating_point else indices.trunc()
        idx = _wrap(idx.to(torch.int64), d)
        hot = idx.unsqueeze(-1) == torch.arange(d, device=indices.device)  # out-of-range rows stay all off
        a = axis + hot.dim() if axis < 0 else axis
        return torch.where(hot.movedim(-1, a), values[1], values[0])

    if known is not None:
        return lambda indices, _d, values: run(indices, known, values)
    return lambda indices, depth, values: run(indices, to_list(depth.reshape(-1).to(torch.int64))[0], values)
