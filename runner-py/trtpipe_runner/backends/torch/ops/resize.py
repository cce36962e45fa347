"""Resize (opsets 10 to 19) and Upsample, with ONNX's sampling rules, one axis at a time.

ONNX resamples separably. On each resized axis, output position y maps to a
source coordinate x (coordinate_transformation_mode), and the output is a
weighted sum of the inputs around x: one for nearest (nearest_mode picks
which), two for linear, four for cubic, a filter widened by 1/scale for
antialiased downsampling; neighbours past the edge repeat the edge value.
Positions and weights depend only on the lengths and the scale, so they are
computed once per (input length, output length, scale) on the host in
float64, like ONNX's reference, and a run is an index_select and a weighted
sum per axis. Linear resizes that F.interpolate samples the same way
(half_pixel; pytorch_half_pixel and align_corners where the resized length
is above 1 and whole) take that single kernel instead.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .registry import NodeView, register, to_list

MODES = ("nearest", "linear", "cubic")
TRANSFORMS = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
              "tf_half_pixel_for_nn", "tf_crop_and_resize")
NEAREST = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
_INTERPOLATE = {1: "linear", 2: "bilinear", 3: "trilinear"}


@lru_cache(maxsize=256)
def axis_plan(mode: str, ctm: str, nearest: str, a: float, exclude: bool, antialias: bool, n_in: int, n_out: int,
              scale: float, roi: tuple | None):
    """(source indices [n_out, taps], weights [n_out, taps] or None for nearest, extrapolated mask or None)."""
    y = np.arange(n_out, dtype=np.float64)
    width = scale * n_in  # ONNX uses the unrounded output length in these formulas
    extrapolated = None
    if ctm == "align_corners":
        x = np.zeros(n_out) if width == 1 else y * (n_in - 1) / (width - 1)
    elif ctm == "asymmetric":
        x = y / scale
    elif ctm == "tf_half_pixel_for_nn":
        x = (y + 0.5) / scale
    elif ctm == "tf_crop_and_resize":
        lo, hi = roi
        x = np.full(n_out, (hi - lo) * (n_in - 1) / 2) if width == 1 else y * (hi - lo) * (n_in - 1) / (width - 1)
        x = x + lo * (n_in - 1)
        extrapolated = (x < 0) | (x > n_in - 1)
    elif ctm == "pytorch_half_pixel":
        x = np.full(n_out, -0.5) if width == 1 else (y + 0.5) / scale - 0.5
    elif ctm == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    else:  # half_pixel_symmetric: the centre of the input maps to the centre of the output
        x = n_in / 2 * (1 - n_out / width) + (y + 0.5) / scale - 0.5
    # The left neighbour is `base`, and ratio is in (0, 1]: an integer x counts as base + 1.
    floor = np.floor(x)
    whole = x == floor
    base = (floor - whole).astype(np.int64)
    ratio = np.where(whole, 1.0, x - floor)
    if mode == "nearest":
        right = {"round_prefer_floor": ratio > 0.5, "round_prefer_ceil": ratio >= 0.5,
                 "floor": whole, "ceil": np.ones_like(whole)}[nearest] | whole
        return np.clip(base + right, 0, n_in - 1)[:, None], None, extrapolated
    s = min(scale, 1.0) if antialias else 1.0
    reach = 1.0 if mode == "linear" else 2.0  # the kernel's half-width, stretched by 1/s when antialiasing
    start = int(math.floor(-reach / s) + 1)
    offsets = np.arange(start, 1 - start + 1)  # relative to base: 2 taps for linear, 4 for cubic
    t = np.abs((offsets[None, :] - ratio[:, None]) * s)
    if mode == "linear":
        w = np.clip(1 - t, 0, 1)
    else:
        w = np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                     np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))
    if antialias:
        w = w / w.sum(axis=1, keepdims=True)
    idx = base[:, None] + offsets[None, :]
    if exclude:
        w = np.where((idx < 0) | (idx >= n_in), 0.0, w)
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1.0, total)
    return np.clip(idx, 0, n_in - 1), w, extrapolated


def _on_device(plan, device, work_dtype):
    """The plan's index, weights and mask as device tensors (made once per plan and device, so
    runs after the first copy nothing from the host and can be captured in a CUDA graph)."""
    import torch

    idx, w, extrapolated = plan
    index = torch.from_numpy(idx.reshape(-1)).to(device)
    weights = None if w is None else torch.from_numpy(w).to(device=device, dtype=work_dtype)
    mask = None if extrapolated is None or not extrapolated.any() else torch.from_numpy(extrapolated).to(device)
    return idx.shape, index, weights, mask


def _resample(x, axis: int, tensors, extrapolation: float):
    import torch

    (n_out, taps), index, weights, mask = tensors
    g = x.index_select(axis, index)
    if weights is not None:
        shape = list(x.shape)
        shape[axis:axis + 1] = [n_out, taps]
        w_shape = [1] * len(shape)
        w_shape[axis:axis + 2] = [n_out, taps]
        g = (g.to(weights.dtype).reshape(shape) * weights.reshape(w_shape)).sum(axis + 1)
    if mask is not None:
        mask_shape = [1] * g.dim()
        mask_shape[axis] = n_out
        g = torch.where(mask.reshape(mask_shape), torch.full((), extrapolation, dtype=g.dtype, device=g.device), g)
    return g


def _finish(y, dtype):
    """ONNX's saturating cast back to the input's type (integers round half to even, then clamp)."""
    import torch

    if y.dtype == dtype:
        return y
    if dtype.is_floating_point:
        return y.to(dtype)
    info = torch.iinfo(dtype)
    return torch.clamp(torch.round(y), info.min, info.max).to(dtype)


class ResizeSpec:
    """One Resize node's attributes; `__call__` resizes a tensor given its scales or sizes."""

    def __init__(self, nv: NodeView):
        old = nv.op_type == "Upsample" or nv.opset < 11
        self.mode = nv.attr("mode", "nearest")
        self.ctm = "asymmetric" if old else nv.attr("coordinate_transformation_mode", "half_pixel")
        self.nearest = "floor" if old else nv.attr("nearest_mode", "round_prefer_floor")
        self.cubic_a = float(nv.attr("cubic_coeff_a", -0.75))
        self.exclude = bool(nv.attr("exclude_outside", 0))
        self.extrapolation = float(nv.attr("extrapolation_value", 0.0))
        self.antialias = bool(nv.attr("antialias", 0))
        self.axes = nv.attr("axes")
        self.policy = nv.attr("keep_aspect_ratio_policy", "stretch")
        self._device_plans: dict[tuple, tuple] = {}
        for value, allowed, what in ((self.mode, MODES, "mode"), (self.ctm, TRANSFORMS, "coordinate_transformation_mode"),
                                     (self.nearest, NEAREST, "nearest_mode"),
                                     (self.policy, ("stretch", "not_larger", "not_smaller"), "keep_aspect_ratio_policy")):
            if value not in allowed:
                raise nv.fail(f"{what} '{value}'")
        if self.antialias and self.mode == "nearest":
            raise nv.fail("antialias with mode 'nearest' (ONNX defines antialiasing for linear and cubic only)")

    def sizes_and_scales(self, shape, scales, sizes):
        rank = len(shape)
        axes = [a + rank if a < 0 else a for a in self.axes] if self.axes is not None else list(range(rank))
        if sizes:
            wanted = dict(zip(axes, sizes))
            ratios = {a: wanted[a] / shape[a] for a in axes}
            if self.policy != "stretch":
                pick = min if self.policy == "not_larger" else max
                s = pick(ratios.values())
                ratios = dict.fromkeys(axes, s)
                wanted = {a: int(s * shape[a] + 0.5) for a in axes}
            return axes, [wanted.get(a, shape[a]) for a in range(rank)], [ratios.get(a, 1.0) for a in range(rank)]
        given = dict(zip(axes, scales))
        factors = [float(given.get(a, 1.0)) for a in range(rank)]
        return axes, [int(f * n) for f, n in zip(factors, shape)], factors

    def __call__(self, x, roi, scales, sizes):
        import torch

        axes, out, factors = self.sizes_and_scales(list(x.shape), scales, sizes)
        rank = x.dim()
        if roi and self.ctm == "tf_crop_and_resize":
            half = len(roi) // 2
            roi_axes = axes if half == len(axes) else list(range(rank))
            bounds = {a: (float(roi[i]), float(roi[i + half])) for i, a in enumerate(roi_axes)}
        else:
            bounds = {}
        moving = [a for a in axes if not (math.isclose(factors[a], 1.0) and out[a] == x.shape[a]
                                           and (not bounds or bounds.get(a, (0.0, 1.0)) == (0.0, 1.0)))]
        if not moving:
            return x
        fast = self._interpolate(x, moving, out, factors, scales, bounds)
        if fast is not None:
            return fast
        work = torch.float64 if x.dtype == torch.float64 else torch.float32
        y = x
        for a in moving:
            key = (int(y.shape[a]), int(out[a]), float(factors[a]), bounds.get(a, (0.0, 1.0)), y.device, work)
            tensors = self._device_plans.get(key)
            if tensors is None:
                plan = axis_plan(self.mode, self.ctm, self.nearest, self.cubic_a, self.exclude, self.antialias,
                                 *key[:4])
                if len(self._device_plans) >= 64:  # many distinct input shapes: start over rather than grow
                    self._device_plans.clear()
                tensors = self._device_plans[key] = _on_device(plan, y.device, work)
            y = _resample(y, a, tensors, self.extrapolation)
        return _finish(y, x.dtype)

    def _interpolate(self, x, moving, out, factors, scales, bounds):
        """F.interpolate's single kernel, where it samples exactly as ONNX does; else None."""
        import torch.nn.functional as F

        if self.mode != "linear" or self.antialias or bounds or not x.dtype.is_floating_point or \
                min(moving) < 2 or x.dim() - 2 not in _INTERPOLATE:
            return None
        spatial = range(2, x.dim())
        widths = [factors[a] * x.shape[a] for a in spatial]
        if self.ctm in ("pytorch_half_pixel", "align_corners") and \
                any(w <= 1 or w != int(w) for w in widths):
            return None  # ONNX's length-1 rule and its unrounded lengths differ from torch's here
        if self.ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            return None
        args = {"mode": _INTERPOLATE[x.dim() - 2], "align_corners": self.ctm == "align_corners"}
        if scales and self.policy == "stretch":
            return F.interpolate(x, scale_factor=[factors[a] for a in spatial], **args)
        return F.interpolate(x, size=[out[a] for a in spatial], **args)


def _floats(value) -> list[float]:
    return [] if value is None else [float(v) for v in value.reshape(-1).tolist()]


@register("Resize", shape_inputs=(1, 2, 3))
def resize(nv: NodeView):
    spec = ResizeSpec(nv)
    if nv.opset < 11:  # Resize-10: (X, scales)
        known = nv.const(1)
        if known is not None:
            scales = _floats(known)
            return lambda x, _s: spec(x, [], scales, [])
        return lambda x, s: spec(x, [], _floats(s), [])
    roi, scales, sizes = (nv.const(i) if nv.has_input(i) else None for i in (1, 2, 3))
    if all(not nv.has_input(i) or v is not None for i, v in zip((1, 2, 3), (roi, scales, sizes))):
        baked = (_floats(roi), _floats(scales), to_list(sizes))
        return lambda x, *_: spec(x, *baked)
    return lambda x, r=None, sc=None, sz=None: spec(x, _floats(r), _floats(sc), to_list(sz))


@register("Upsample", shape_inputs=(1,))
def upsample(nv: NodeView):
    spec = ResizeSpec(nv)
    if "scales" in nv.attrs:  # Upsample-7
        scales = [float(s) for s in nv.attr("scales")]
        return lambda x: spec(x, [], scales, [])
    return lambda x, s: spec(x, [], _floats(s), [])
