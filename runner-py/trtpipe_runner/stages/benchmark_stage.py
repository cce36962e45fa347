"""benchmark: latency percentiles and throughput per batch size, measured on a device
that nothing else uses meanwhile, with the facts needed to trust the numbers.

Inputs are real evaluation samples (repeated to fill a batch), so the numbers
are not flattered by all-zero data. The stage loads its session under shared
device leases, then holds the device the session runs on exclusively for
every timing loop (lease/leases.py): no other stage of any runner process on
this host runs on it meanwhile. Each batch size is measured by the timing
protocol (timing/loop.py: warm-up until stable, then `iterations` or until
`max_seconds` per batch size ran out); the session decides the timer (host
clock on CPUs, CUDA events on GPUs).

With `repeats` > 1 the whole measurement (warm-up included, all batch sizes
in turn) runs that many times, each with max_seconds / repeats, and each batch
reports one p50/p90/p99 per repeat: their spread (`repeat_cv`) is the honest
noise figure the reports and gates use.

Recorded besides the latencies (details): every timing window (epoch
timestamps, iterations run and why it stopped, the warm-up), the device and
its state (CPU model, cores, governor; GPU clocks, temperature, power and
throttle reasons before and after), what else ran meanwhile (other stages of
this runner, CPU time of other processes, other processes on the GPU), the
threads used, and the lease wait.
"""
from __future__ import annotations

import numpy as np

from ..backends import get_backend
from ..errors import UserError
from ..lease.devices import cuda_uuid, device_key, stage_needs
from ..lease.leases import HOLDERS, DeviceNeed
from ..memory import check_fits
from ..timing.gpu_state import SLOWDOWNS, gpu_state, others_on_gpu
from ..timing.host_state import CpuActivity, cpu_info
from ..timing.loop import TimingPolicy, measure
from ..timing.stats import repeat_cv, summarize
from .common import load_dataset
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params  # checked against the contract: batches >= 1, iterations >= 1, max_seconds > 0, ...
    batches, repeats = list(p.batches), p.repeats
    policy = TimingPolicy(warmup=p.warmup, warmup_seconds=p.warmup_seconds, iterations=p.iterations,
                          max_seconds=p.max_seconds / repeats)
    session = None
    try:
        # Loading is ordinary work: shared leases, released before the timing loops take the device.
        with ctx.lease(stage_needs("benchmark", p)):
            session = get_backend(p.backend).load(ctx.model_path("engine"), p.to_json())
            session.on_cancel(ctx.cancel)
            feeds = _feeds(ctx, session, batches)
        device = session.device()
        measured = device_key(device)
        cpu_measured = device == "cpu"
        needs = [DeviceNeed(device_key("cpu"), cpu_measured)] + ([] if cpu_measured else [DeviceNeed(measured, True)])
        layer_times = None
        with ctx.lease(needs) as leases:
            state = {"before": _device_state(device)}
            windows, runs = _time_all(ctx, session, feeds, batches, repeats, policy, leases)
            if p.profile_layers and hasattr(session, "layer_times"):
                # Per-layer times come from a separate profiled run (backends that can: tensorrt).
                layer_times = {str(b): session.layer_times(feeds[b]) for b in batches}
            state["after"] = _device_state(device)
        out = StageOutput()
        out.details["batches"] = _per_batch(batches, runs, windows, repeats, out.metrics)
        if layer_times is not None:
            out.details["layer_times_ms"] = layer_times
        exclusive = next(lease for lease in leases if lease.exclusive)
        out.details.update(
            warmup=policy.warmup, warmup_seconds=policy.warmup_seconds,
            iterations=policy.iterations, max_seconds=p.max_seconds, repeats=repeats,
            timer=session.timer_name(), timing=windows, threads=session.threads(),
            device={"name": measured, "kind": "cpu" if device == "cpu" else "gpu", **state},
            lease={"device": exclusive.device, "wait_seconds": round(exclusive.wait_seconds, 6),
                   "waited_for": exclusive.waited_for, "enforced": exclusive.enforced,
                   "acquired_at": exclusive.acquired_at},
            contention=_contention(windows, state))
        return out
    finally:
        if session is not None:
            session.close()


def _feeds(ctx: StageContext, session, batches: list[int]) -> dict[int, dict[str, np.ndarray]]:
    """One batch of real evaluation samples per batch size."""
    specs = session.inputs()
    fixed = specs[0].shape[0] if specs and specs[0].shape and isinstance(specs[0].shape[0], int) else None
    for b in batches:
        if fixed is not None and fixed != b:
            raise UserError(f"the model fixes batch {fixed}; benchmark batch {b} cannot run", code="BAD_PARAM")
    data = load_dataset(ctx, "eval_data", specs)
    for b in batches:  # before a byte is allocated: a batch a pipeline asked for may not fit this host
        check_fits(sum(b * arr[:1].nbytes for arr in data.inputs.values()), f"benchmark batch {b}",
                   "lower benchmark.batch (or the matrix's batch axis)")
    return {b: {name: fill_batch(arr, b) for name, arr in data.inputs.items()} for b in batches}


def _per_batch(batches: list[int], runs: dict, windows: list[dict], repeats: int, metrics: dict) -> dict:
    """Statistics per batch size over all its repeats (details.batches), flat metrics `b<batch>.<stat>`."""
    results = {}
    for b in batches:
        stats = summarize([t for times in runs[b] for t in times], b)
        stats["repeats"] = float(repeats)
        p50s = [float(np.percentile(t, 50)) for t in runs[b]]
        if repeats > 1:
            stats["repeat_cv"] = repeat_cv(p50s)
        for key, value in stats.items():
            metrics[f"b{b}.{key}"] = value
        mine = [w for w in windows if w["batch"] == b]
        results[str(b)] = {**stats, "repeat_p50_ms": p50s,
                           "repeat_p90_ms": [float(np.percentile(t, 90)) for t in runs[b]],
                           "repeat_p99_ms": [float(np.percentile(t, 99)) for t in runs[b]],
                           "stopped_by": sorted({w["stopped_by"] for w in mine}),
                           "warmup_stable": all(w["warmup_stable"] for w in mine)}
    return results


def _time_all(ctx, session, feeds, batches, repeats, policy, leases):
    """Every measurement, repeats outermost; returns (timing windows, latencies per batch per repeat)."""
    runs: dict[int, list[list[float]]] = {b: [] for b in batches}
    windows = []
    steps = repeats * len(batches)
    for r in range(repeats):
        for k, b in enumerate(batches):
            step = r * len(batches) + k
            label = f"batch {b}, repeat {r + 1}/{repeats}"
            timer = session.timer(feeds[b], ctx.cancel)
            # Stages of this runner holding a device this loop uses, at its start and end.
            seen = {h for lease in leases for h in HOLDERS.others(lease, held_only=True)}
            activity = CpuActivity().start()
            m = measure(timer, policy, ctx.cancel, lambda f, step=step, label=label: ctx.progress((step + f) / steps, label))
            others = sorted(seen | {h for lease in leases for h in HOLDERS.others(lease, held_only=True)})
            runs[b].append(m.times_ms)
            windows.append({"batch": b, "repeat": r, **m.to_json(), **activity.stop(), "concurrent_stages": others})
    return windows, runs


def _device_state(device: str) -> dict:
    """CPU facts always; the GPU's state when it runs on one (None when it cannot be read)."""
    state: dict[str, dict | None] = {"cpu": cpu_info()}
    if device != "cpu":
        state["gpu"] = gpu_state(cuda_uuid(device))
    return state


def _contention(windows: list[dict], state: dict) -> dict:
    """Whether anything else ran on the device while it was timed, in one place."""
    other_cores = [w["other_cores"] for w in windows if "other_cores" in w]
    gpu = [state[k].get("gpu") for k in ("before", "after")]
    throttled = sorted({r for g in gpu if g for r in g.get("throttle_reasons", []) if r in SLOWDOWNS})
    out = {"concurrent_stages": sorted({s for w in windows for s in w["concurrent_stages"]}),
           "max_other_cores": max(other_cores) if other_cores else None}
    if any(g is not None for g in gpu):
        out["other_gpu_processes"] = sorted({pid for g in gpu for pid in others_on_gpu(g)})
        out["gpu_slowdowns"] = throttled
    return out


def fill_batch(arr: np.ndarray, b: int) -> np.ndarray:
    """The first `b` samples, repeating the data set if it is smaller."""
    if b <= len(arr):
        return np.ascontiguousarray(arr[:b])
    return np.resize(arr, (b, *arr.shape[1:]))  # repeats whole samples: no list of b / len(arr) copies first
