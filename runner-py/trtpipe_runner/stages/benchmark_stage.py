"""benchmark: latency percentiles and throughput per batch size.

Inputs are real evaluation samples (repeated to fill a batch), so the numbers
are not flattered by all-zero data. Each batch size gets `warmup` untimed runs,
then `iterations` timed ones (or fewer if `max_seconds` runs out).
"""
from __future__ import annotations

import time

import numpy as np

from ..backends.onnxruntime.session import make_session
from ..errors import UserError
from .context import StageContext, StageOutput
from .evaluate_stage import _np_dtype
from ..model.tensors import TensorSpec
from .common import load_dataset


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    batches = [int(b) for b in p.get("batches", [1])]
    warmup, iterations = int(p.get("warmup", 10)), int(p.get("iterations", 100))
    max_seconds = float(p.get("max_seconds", 60))
    if not batches or min(batches) < 1 or iterations < 1 or warmup < 0:
        raise UserError("benchmark needs batches >= 1, iterations >= 1 and warmup >= 0", code="BAD_PARAM")
    session = make_session(ctx.input_path("engine"), opt_level=p.get("opt_level", "all"),
                           threads=int(p.get("threads", 0)))
    specs = [TensorSpec(i.name, _np_dtype(i.type), tuple(d if isinstance(d, int) else "?" for d in i.shape))
             for i in session.get_inputs()]
    data = load_dataset(ctx, "eval_data", specs)
    out = StageOutput()
    results = {}
    for k, b in enumerate(batches):
        fixed = specs[0].shape[0] if specs and isinstance(specs[0].shape[0], int) else None
        if fixed is not None and fixed != b:
            raise UserError(f"the model fixes batch {fixed}; benchmark batch {b} cannot run", code="BAD_PARAM")
        feed = {name: _fill(arr, b) for name, arr in data.inputs.items()}
        times = time_runs(session, feed, warmup, iterations, max_seconds, ctx,
                          lambda f: ctx.progress((k + f) / len(batches), f"batch {b}"))
        stats = summarize(times, b)
        results[str(b)] = stats
        for key, value in stats.items():
            out.metrics[f"b{b}.{key}"] = value
    out.details = {"batches": results, "warmup": warmup, "iterations": iterations, "timer": "host perf_counter"}
    return out


def _fill(arr: np.ndarray, b: int) -> np.ndarray:
    reps = -(-b // len(arr))
    return np.ascontiguousarray(np.concatenate([arr] * reps, axis=0)[:b]) if reps > 1 else np.ascontiguousarray(arr[:b])


def time_runs(session, feed, warmup: int, iterations: int, max_seconds: float, ctx: StageContext, report) -> list[float]:
    names = [o.name for o in session.get_outputs()]
    for _ in range(warmup):
        ctx.cancel.check()
        session.run(names, feed)
    times = []
    deadline = time.perf_counter() + max_seconds
    for i in range(iterations):
        ctx.cancel.check()
        t0 = time.perf_counter_ns()
        session.run(names, feed)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        if i % 20 == 0:
            report((i + 1) / iterations)
        if time.perf_counter() > deadline and len(times) >= 10:
            break
    return times


def summarize(times_ms: list[float], batch: int) -> dict[str, float]:
    """p50/p90/p99/mean/min latency (ms), their spread and throughput (samples/s)."""
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
