"""Latency statistics of one batch size, and its noise figures.

Noise figures are coefficients of variation (spread relative to the typical
value), so they compare across models and batch sizes:
- `cv`: the spread of single iterations, robust (1.4826 x MAD / median, the
  standard deviation for normal data), so one slow outlier does not dominate;
- `repeat_cv`: with repeats, the plain standard deviation of the per-repeat
  medians over their mean: how much the figure a gate compares moves between
  independent measurements. It is the honest one; the reports prefer it.
"""
from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826


def summarize(times_ms: list[float], batch: int) -> dict[str, float]:
    """p50/p90/p99/mean/min latency (ms), their spread (MAD, cv) and throughput (samples/s)."""
    t = np.asarray(times_ms, dtype=np.float64)
    mean = float(t.mean())
    median = float(np.median(t))
    mad = float(np.median(np.abs(t - median)))
    return {
        "latency_p50_ms": float(np.percentile(t, 50)),
        "latency_p90_ms": float(np.percentile(t, 90)),
        "latency_p99_ms": float(np.percentile(t, 99)),
        "latency_mean_ms": mean,
        "latency_min_ms": float(t.min()),
        "latency_mad_ms": mad,
        "cv": MAD_TO_SIGMA * mad / median if median > 0 else 0.0,
        "throughput_per_s": float(batch * 1000.0 / mean) if mean > 0 else 0.0,
        "iterations": float(len(t)),
    }


def repeat_cv(values: list[float]) -> float:
    """Standard deviation (n - 1) over mean of per-repeat figures; 0 for fewer than two."""
    if len(values) < 2:
        return 0.0
    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    return float(v.std(ddof=1) / mean) if mean > 0 else 0.0
