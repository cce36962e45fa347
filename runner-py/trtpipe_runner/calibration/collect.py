"""Calibration thresholds for every quantized activation, in one sweep over the data.

Pass 1 runs the model once over the calibration batches (observe.py) and
reduces every observed tensor as it comes: min and max (per channel for the
tensors SmoothQuant applies to). That is all `minmax` needs. `entropy` and
`percentile` also need a histogram per tensor over the tensor's whole range,
which is only known at the end of pass 1, so pass 1 keeps the observed
tensors while they fit in a memory budget and histograms them from memory;
only when they do not fit is the model run a second time. The work per
tensor is a handful of vectorized reductions (ops.py), on the GPU when the
model runs there, and the threshold searches run on 2048-bin histograms
(histogram.py), never on the data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..cancel import CancelToken
from ..errors import UserError
from .histogram import entropy_threshold, percentile_threshold
from .observe import Observer
from .smoothing import smoothing_factors, smoothing_targets

METHODS = ("minmax", "entropy", "percentile")
BINS = 2048  # TensorRT's entropy calibrator histogram; also used for percentile
QUANTIZED_BINS = 128
CPU_BUDGET = 4 << 30  # at most this many bytes of observed tensors are kept on the CPU (a quarter of RAM if less)


@dataclass
class Calibration:
    """amax per tensor (for smoothed tensors: of X / s), the smoothing factors, and how it ran."""

    amax: dict[str, float]
    smoothing: dict[str, list[float]] = field(default_factory=dict)
    device: str = "cpu"
    passes: int = 1
    fallback: str = ""  # why a GPU runner calibrated on the CPU after all (an op the torch converter lacks)


@dataclass
class _Stats:
    lo: float = np.inf
    hi: float = -np.inf
    abs_lo: float = np.inf  # min |x|, for percentile's histogram range
    ch_lo: np.ndarray | None = None
    ch_hi: np.ndarray | None = None


def calibrate(model, tensors: list[str], batches: Callable[[], Iterator[dict[str, np.ndarray]]], method: str,
              percentile: float, device: str, cancel: CancelToken, alpha: float | None = None,
              progress: Callable[[float, str], None] | None = None, total: int = 0,
              budget: int | None = None, engine: str | None = None, model_path=None) -> Calibration:
    """Symmetric thresholds (amax) for `tensors`.

    Args:
        model: the FP32 model.
        tensors: activation tensors to calibrate (inputs of quantizable nodes).
        batches: returns a fresh iterator over the calibration feeds (called twice at most).
        method: minmax | entropy | percentile.
        percentile: for method percentile, e.g. 99.99.
        device: "cpu" or "cuda[:N]" (observe.pick_device).
        alpha: SmoothQuant migration strength, or None for no smoothing.
        progress: callable(fraction, message).
        total: the number of batches, for progress messages.
        budget: bytes of observed tensors to keep for the histograms (default: 4 GiB or a
            quarter of the RAM on the CPU, half the free memory on a GPU).
        engine: what runs the model (observe.Observer); default by device.
        model_path: the model's file, where external data files are found (observe.Observer).
    """
    if method not in METHODS:
        raise UserError(f"calibration method must be one of {', '.join(METHODS)}, got '{method}'", code="BAD_PARAM")
    report = progress or (lambda f, m: None)
    base_dir = str(Path(model_path).parent) if model_path is not None else ""
    targets = smoothing_targets(model, tensors, base_dir) if alpha is not None else {}
    obs = Observer(model, tensors, device, cancel, engine, model_path)
    ops = obs.ops
    stats = {t: _Stats() for t in tensors}
    keep = method != "minmax"
    kept: list[dict] = []
    held = 0
    limit = budget if budget is not None else _default_budget(device)
    n = 0
    for feed in batches():
        got = obs.run(feed)
        n += 1
        for t in tensors:
            x = got[t]
            s = stats[t]
            lo, hi = ops.minmax(x)
            s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
            if t in targets:
                c_lo, c_hi = ops.channel_minmax(x)
                s.ch_lo = c_lo if s.ch_lo is None else np.minimum(s.ch_lo, c_lo)
                s.ch_hi = c_hi if s.ch_hi is None else np.maximum(s.ch_hi, c_hi)
            elif method == "percentile":  # min |x| is only unknown where the batch crosses zero
                s.abs_lo = min(s.abs_lo, lo if lo >= 0 else -hi if hi <= 0 else ops.minmax(ops.abs(x))[0])
        if keep:
            held += sum(ops.nbytes(got[t]) for t in tensors)
            keep = held <= limit
            if keep:
                kept.append({t: got[t] for t in tensors})
            else:
                kept.clear()  # too large to hold: the histograms run the model again
        del got
        report(0.05 + 0.45 * n / max(n, total), f"observed batch {n}/{max(n, total)}")
    if n == 0:
        raise UserError("the calibration data has no samples", code="DATA_EMPTY")
    missing = [t for t in tensors if not np.isfinite(stats[t].hi)]
    if missing:
        raise UserError(f"calibration observed no values for {', '.join(missing[:5])}", code="CALIBRATION_INCOMPLETE")

    factors = {t: smoothing_factors(np.maximum(np.abs(stats[t].ch_lo), np.abs(stats[t].ch_hi)), w, alpha)
               for t, w in targets.items()}
    for t, f in factors.items():  # the range of X / s follows from the per-channel range of X
        s = stats[t]
        s.lo, s.hi = float((s.ch_lo / f).min()), float((s.ch_hi / f).max())
        s.abs_lo = float(np.where((s.ch_lo > 0) | (s.ch_hi < 0),
                                  np.minimum(np.abs(s.ch_lo), np.abs(s.ch_hi)) / f, 0.0).min())
    amax = {t: max(abs(stats[t].lo), abs(stats[t].hi)) for t in tensors}
    result = Calibration(amax, {t: f.tolist() for t, f in factors.items()}, obs.device, 1, obs.fallback)
    if method == "minmax":
        return result

    inverse = {t: 1.0 / f for t, f in factors.items()}
    hists = {t: np.zeros(BINS, np.int64) for t in tensors}
    source = kept
    if not keep:
        result.passes = 2
        source = (obs.run(feed) for feed in batches())
    for i, got in enumerate(source):
        cancel.check()
        for t in tensors:
            x = got[t]
            if t in inverse:
                x = ops.scale_last(x, inverse[t])
            if method == "entropy":
                hists[t] += ops.histogram(x, -amax[t], amax[t], BINS)
            else:
                hists[t] += ops.histogram(x, stats[t].abs_lo, amax[t], BINS, absolute=True)
        report(0.5 + 0.4 * (i + 1) / n, f"histograms {i + 1}/{n}")
    kept.clear()
    for t in tensors:
        s = stats[t]
        if method == "entropy":
            amax[t] = entropy_threshold(hists[t], amax[t], s.lo, s.hi, QUANTIZED_BINS)
        else:
            amax[t] = percentile_threshold(hists[t], s.abs_lo, amax[t], s.lo, s.hi, percentile)
    report(1.0, f"{method} thresholds for {len(tensors)} tensors")
    return result


def _default_budget(device: str) -> int:
    if not device.startswith("cuda"):
        import os

        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            ram = 4 * CPU_BUDGET
        return min(CPU_BUDGET, ram // 4)
    import torch

    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return int(free // 2)
