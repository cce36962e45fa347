"""Layout ops that move values between axes: DepthToSpace, SpaceToDepth, CenterCropPad."""
from __future__ import annotations

from .registry import NodeView, register, to_list


@register("DepthToSpace")
def depth_to_space(nv: NodeView):
    bs = nv.attr("blocksize")
    crd = nv.attr("mode", "DCR") == "CRD"

    def fn(x):
        n, c, h, w = x.shape
        if crd:  # channel-major blocks: torch's pixel_shuffle order
            y = x.reshape(n, c // (bs * bs), bs, bs, h, w).permute(0, 1, 4, 2, 5, 3)
        else:  # DCR: depth-major blocks
            y = x.reshape(n, bs, bs, c // (bs * bs), h, w).permute(0, 3, 4, 1, 5, 2)
        return y.reshape(n, c // (bs * bs), h * bs, w * bs)
    return fn


@register("SpaceToDepth")
def space_to_depth(nv: NodeView):
    bs = nv.attr("blocksize")
    order = (0, 1, 3, 5, 2, 4) if nv.attr("mode", "DCR") == "CRD" else (0, 3, 5, 1, 2, 4)  # DepthToSpace's inverses

    def fn(x):
        n, c, h, w = x.shape
        y = x.reshape(n, c, h // bs, bs, w // bs, bs).permute(order)
        return y.reshape(n, c * bs * bs, h // bs, w // bs)
    return fn


@register("CenterCropPad", shape_inputs=(1,))
def center_crop_pad(nv: NodeView):
    """Crops (centred, the extra element at the end) or zero-pads (centred, the extra at the end)
    each listed axis to the wanted length."""
    import torch.nn.functional as F

    axes = nv.attr("axes")
    known = nv.const_list(1)

    def run(x, lengths: list[int]):
        rank = x.dim()
        listed = [a + rank if a < 0 else a for a in axes] if axes is not None else list(range(rank))
        index = [slice(None)] * rank
        pads = [0] * (2 * rank)
        for a, want in zip(listed, lengths):
            have = x.shape[a]
            if want < have:
                start = (have - want) // 2
                index[a] = slice(start, start + want)
            elif want > have:
                before = (want - have) // 2
                pads[2 * (rank - 1 - a)] = before  # F.pad lists the last axis first
                pads[2 * (rank - 1 - a) + 1] = want - have - before
        y = x[tuple(index)]
        return F.pad(y, pads) if any(pads) else y

    if known is not None:
        return lambda x, _s: run(x, known)
    return lambda x, s: run(x, to_list(s))
