"""The fused attention node (fusion_attention.py) on torch.nn.functional.scaled_dot_product_attention.

SDPA picks a flash, memory-efficient or cuDNN kernel on CUDA (fp32 softmax
and accumulation inside for fp16/bf16 inputs) and returns zeros for a fully
masked row, as the NaN guard exporters write after the Softmax does. When the
operands do not fit SDPA at run time (batch axes that only broadcast, a mask
of higher rank than the scores, a scale tensor that is not a scalar) the node
computes the pattern as written instead and records why in
`fn.fallback_reason`, which the Program's summary reports.

A windowed second mask (Swin's shift mask, added in a [.., windows, heads, L, S]
view of the scores) is folded with the first into one mask of the scores'
shape; when both are constants it is built once per shape and kept.
"""
from __future__ import annotations

from .registry import NodeView, register, to_list

ATTENTION = "trtpipe.Attention"
Q_SCALE, K_SCALE, S_SCALE, VIEW, RESTORE = 5, 6, 7, 8, 9


def _factor(op: str, value) -> float | None:
    """The factor a Mul/Div by `value` applies, or None when `value` is not one number."""
    if value is None or value.numel() != 1:
        return None
    v = float(value.reshape(-1)[0].item())
    return v if op == "mul" else 1.0 / v


def _apply(x, op: str, value):
    if not op:
        return x
    if value.device != x.device:  # a host scalar (shape arithmetic) read on the CPU
        value = value.to(x.device)
    return x * value if op == "mul" else x / value


@register(ATTENTION, shape_inputs=(Q_SCALE, K_SCALE, S_SCALE, VIEW, RESTORE))
def attention(nv: NodeView):
    import torch
    import torch.nn.functional as F

    ops = [nv.attr("q_scale_op"), nv.attr("k_scale_op"), nv.attr("s_scale_op")]
    layout, arg = nv.attr("k_layout"), nv.attr("k_arg")
    guard = nv.attr("nan_guard")
    windowed = nv.attr("windowed")
    const_masks = nv.const(3) is not None or not nv.has_input(3), nv.const(4) is not None
    mask_cache: dict = {}

    def k_of(src):
        if layout == "perm":
            return src.permute(arg)
        if layout == "merged":
            return src.reshape(arg)
        return src.transpose(-1, -2)

    def total_scale(scales) -> float | None:
        scale = 1.0
        for op, value in zip(ops, scales):
            if op:
                f = _factor(op, value)
                if f is None:
                    return None
                scale *= f
        return scale

    baked = None
    if all(not op or nv.const(slot) is not None for op, slot in zip(ops, (Q_SCALE, K_SCALE, S_SCALE))):
        baked = total_scale([nv.const(Q_SCALE), nv.const(K_SCALE), nv.const(S_SCALE)])

    def as_written(q, k, v, masks, scales, view=None, restore=None):
        """The ONNX nodes' own arithmetic (the fallback)."""
        qs = _apply(q, ops[0], scales[0])
        kt = _apply(k.transpose(-1, -2), ops[1], scales[1])
        scores = _apply(torch.matmul(qs, kt), ops[2], scales[2])
        for i, m in enumerate(masks):
            if windowed and i == len(masks) - 1:
                scores = (scores.reshape(to_list(view)) + m).reshape(to_list(restore))
            else:
                scores = scores + m
        probs = torch.softmax(scores, -1)
        if guard:
            probs = torch.where(torch.isnan(probs), torch.zeros((), dtype=probs.dtype, device=probs.device), probs)
        return torch.matmul(probs, v)

    def why_not(q, k, v, masks) -> str:
        if q.dim() < 2 or not (q.dim() == k.dim() == v.dim()):
            return f"operand ranks {q.dim()}, {k.dim()}, {v.dim()} differ"
        if q.shape[:-2] != k.shape[:-2] or k.shape[:-2] != v.shape[:-2]:
            return f"batch axes {tuple(q.shape[:-2])}, {tuple(k.shape[:-2])}, {tuple(v.shape[:-2])} only broadcast"
        scores = (*q.shape[:-1], k.shape[-2])
        for m in masks:
            if m.dim() > q.dim() or torch.broadcast_shapes(m.shape, scores) != scores:
                return f"mask of shape {tuple(m.shape)} does not broadcast to the scores {scores}"
        return ""

    def window_mask(mask_a, mask_b, scores, view, restore):
        """Both masks as one of the scores' shape (None when the view does not restore it)."""
        key = (scores, tuple(to_list(view)), tuple(to_list(restore)))
        if key in mask_cache:
            return mask_cache[key]
        if 0 in key[1] or 0 in key[2]:
            return None  # Reshape's 0 (copy a dimension, or an empty one) is left to the nodes as written
        base = mask_b.new_zeros(scores) if mask_a is None else mask_a.expand(scores)
        try:
            mask = (base.reshape(to_list(view)) + mask_b).reshape(to_list(restore))
        except RuntimeError:
            return None
        if tuple(mask.shape) != scores:
            return None
        if all(const_masks):
            mask_cache[key] = mask
        return mask

    def fn(q, k_src, v, mask_a=None, mask_b=None, q_scale=None, k_scale=None, s_scale=None, view=None,
           restore=None):
        k = k_of(k_src)
        masks = [m for m in (mask_a, mask_b) if m is not None]
        scales = (q_scale, k_scale, s_scale)
        scale = baked if baked is not None else total_scale(scales)
        reason = "a scale is not a single number" if scale is None else why_not(q, k, v, masks[:-1] if windowed
                                                                                 else masks)
        mask = None
        if not reason and windowed:
            mask = window_mask(mask_a, mask_b, (*q.shape[:-1], k.shape[-2]), view, restore)
            reason = "" if mask is not None else "the windowed mask's reshapes do not restore the scores' shape"
        elif not reason and masks:
            mask = masks[0] if len(masks) == 1 else masks[0] + masks[1]
        if reason:
            fn.fallback_reason = reason
            return as_written(q, k, v, masks, scales, view, restore)
        if q.dim() == 3:  # the fused kernels take [batch, heads, L, E]
            return F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=mask, scale=scale)[0]
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)

    fn.fallback_reason = ""
    return fn
