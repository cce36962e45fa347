"""benchmark: latency percentiles and throughput per batch size.

Inputs are real evaluation samples (repeated to fill a batch), so the numbers
are not flattered by all-zero data. Each batch size gets `warmup` untimed runs,
then `iterations` timed ones (fewer if `max_seconds` runs out); the backend's
session decides the timer (host clock on CPU, CUDA events on GPUs).
"""
from __future__ import annotations

import numpy as np

from ..backends import get_backend
from ..errors import UserError
from .common import load_dataset
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    batches = [int(b) for b in p.get("batches", [1])]
    warmup, iterations = int(p.get("warmup", 10)), int(p.get("iterations", 100))
    max_seconds = float(p.get("max_seconds", 60))
    if not batches or min(batches) < 1 or iterations < 1 or warmup < 0:
        raise UserError("benchmark needs batches >= 1, iterations >= 1 and warmup >= 0", code="BAD_PARAM")
    session = get_backend(p.get("backend", "onnxruntime")).load(ctx.input_path("engine"), p)
    session.on_cancel(ctx.cancel)
    try:
        specs = session.inputs()
        data = load_dataset(ctx, "eval_data", specs)
        out = StageOutput()
        results = {}
        fixed = specs[0].shape[0] if specs and specs[0].shape and isinstance(specs[0].shape[0], int) else None
        for k, b in enumerate(batches):
            if fixed is not None and fixed != b:
                raise UserError(f"the model fixes batch {fixed}; benchmark batch {b} cannot run", code="BAD_PARAM")
            feed = {name: fill_batch(arr, b) for name, arr in data.inputs.items()}
            times = session.time_runs(feed, warmup, iterations, max_seconds, ctx.cancel,
                                      lambda f, k=k, b=b: ctx.progress((k + f) / len(batches), f"batch {b}"))
            stats = summarize(times, b)
            results[str(b)] = stats
            if p.get("profile_layers") and hasattr(session, "layer_times"):
                # Per-layer times come from a separate profiled run (backends that can: tensorrt).
                out.details.setdefault("layer_times_ms", {})[str(b)] = session.layer_times(feed)
            for key, value in stats.items():
                out.metrics[f"b{b}.{key}"] = value
        out.details.update(batches=results, warmup=warmup, iterations=iterations, timer=session.timer_name())
        return out
    finally:
        session.close()


def fill_batch(arr: np.ndarray, b: int) -> np.ndarray:
    """The first `b` samples, repeating the data set if it is smaller."""
    reps = -(-b // len(arr))
    src = np.concatenate([arr] * reps, axis=0) if reps > 1 else arr
    return np.ascontiguousarray(src[:b])


def summarize(times_ms: list[float], batch: int) -> dict[str, float]:
    """p50/p90/p99/mean/min latency (ms), their spread (MAD) and throughput (samples/s)."""
    t = np.asarray(times_ms)
    mean = float(t.mean())
    return {
        "latency_p50_ms": float(np.percentile(t, 50)),
        "latency_p90_ms": float(np.percentile(t, 90)),
        "latency_p99_ms": float(np.percentile(t, 99)),
        "latency_mean_ms": mean,
        "latency_min_ms": float(t.min()),
        "latency_mad_ms": float(np.median(np.abs(t - np.median(t)))),
        "throughput_per_s": float(batch * 1000.0 / mean) if mean > 0 else 0.0,
        "iterations": float(len(t)),
    }
