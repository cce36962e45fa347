"""benchmark: latency percentiles and throughput per batch size.

Inputs are real evaluation samples (repeated to fill a batch), so the numbers
are not flattered by all-zero data. Each batch size gets `warmup` untimed runs,
then `iterations` timed ones (fewer if `max_seconds` runs out); the backend's
session decides the timer (host clock on CPU, CUDA events on GPUs).

With `repeats` > 1 the whole measurement (warm-up included, all batch sizes
in turn) runs that many times, and each batch reports one p50/p99 per repeat:
the spread between repeats is the noise band regression gates judge against.
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
    repeats = int(p.get("repeats", 1))
    if not batches or min(batches) < 1 or iterations < 1 or warmup < 0 or repeats < 1:
        raise UserError("benchmark needs batches >= 1, iterations >= 1, warmup >= 0 and repeats >= 1", code="BAD_PARAM")
    session = get_backend(p.get("backend", "onnxruntime")).load(ctx.model_path("engine"), p)
    session.on_cancel(ctx.cancel)
    try:
        specs = session.inputs()
        data = load_dataset(ctx, "eval_data", specs)
        out = StageOutput()
        results = {}
        fixed = specs[0].shape[0] if specs and specs[0].shape and isinstance(specs[0].shape[0], int) else None
        for b in batches:
            if fixed is not None and fixed != b:
                raise UserError(f"the model fixes batch {fixed}; benchmark batch {b} cannot run", code="BAD_PARAM")
        feeds = {b: {name: fill_batch(arr, b) for name, arr in data.inputs.items()} for b in batches}
        runs: dict[int, list[list[float]]] = {b: [] for b in batches}
        steps = repeats * len(batches)
        for r in range(repeats):
            for k, b in enumerate(batches):
                step = r * len(batches) + k
                runs[b].append(session.time_runs(
                    feeds[b], warmup, iterations, max_seconds / repeats, ctx.cancel,
                    lambda f, step=step, b=b, r=r: ctx.progress((step + f) / steps, f"batch {b}, repeat {r + 1}/{repeats}")))
        for b in batches:
            stats = summarize([t for times in runs[b] for t in times], b)
            stats["repeats"] = float(repeats)
            for key, value in stats.items():
                out.metrics[f"b{b}.{key}"] = value
            results[str(b)] = {**stats,
                               "repeat_p50_ms": [float(np.percentile(t, 50)) for t in runs[b]],
                               "repeat_p90_ms": [float(np.percentile(t, 90)) for t in runs[b]],
                               "repeat_p99_ms": [float(np.percentile(t, 99)) for t in runs[b]]}
        if p.get("profile_layers") and hasattr(session, "layer_times"):
            # Per-layer times come from a separate profiled run (backends that can: tensorrt).
            out.details["layer_times_ms"] = {str(b): session.layer_times(feeds[b]) for b in batches}
        out.details.update(batches=results, warmup=warmup, iterations=iterations, repeats=repeats,
                           timer=session.timer_name())
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
