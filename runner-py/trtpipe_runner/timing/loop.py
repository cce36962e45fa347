"""The timing protocol every backend's latency goes through.

Like trtexec: a warm-up of at least `warmup` iterations and `warmup_seconds`,
extended until it is stable (the medians of two consecutive windows of at
least WINDOW_SECONDS agree within STABLE_WITHIN) for at most
max(0.5 s, 2 x warmup_seconds) and never past half the budget; then `iterations`
timed iterations, stopped early once `max_seconds` (counted from the start of
the warm-up) have passed, but never before MIN_TIMED of them ran. So a
measurement always finishes its minimum warm-up, and says how many iterations
it really timed and why it stopped.

Backends supply an IterationTimer: `run(n)` runs n inferences and returns n
latencies in ms (host clock on CPUs; CUDA events on GPUs, synchronized once per
call, which is why timed iterations are issued in chunks of about
CHUNK_SECONDS).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from ..cancel import CancelToken

STABLE_WITHIN = 0.05
WINDOW_SECONDS = 0.05
WINDOW_MIN = 3
MIN_TIMED = 10
CHUNK_SECONDS = 0.25
MAX_CHUNK = 25


class IterationTimer(Protocol):
    def run(self, n: int) -> list[float]:
        """Runs n inferences; returns their latencies in milliseconds."""


class HostTimer:
    """Host wall clock (perf_counter_ns) around each call of `fn`."""

    def __init__(self, fn: Callable[[], object], cancel: CancelToken | None = None):
        self._fn = fn
        self._cancel = cancel

    def run(self, n: int) -> list[float]:
        out = []
        for _ in range(n):
            if self._cancel is not None:
                self._cancel.check()
            t0 = time.perf_counter_ns()
            self._fn()
            out.append((time.perf_counter_ns() - t0) / 1e6)
        return out


@dataclass(frozen=True)
class TimingPolicy:
    """How one batch size is measured once (benchmark.* in the pipeline)."""

    warmup: int = 10
    warmup_seconds: float = 0.2
    iterations: int = 100
    max_seconds: float = 60.0


@dataclass
class Measurement:
    """One measurement: the timed latencies and how they came about. Times are epoch seconds."""

    times_ms: list[float]
    requested: int
    stopped_by: str  # "iterations" (all ran) or "max_seconds" (the budget ran out first)
    warmup_iterations: int
    warmup_seconds: float
    warmup_stable: bool
    warmup_started_at: float
    started_at: float
    ended_at: float

    def to_json(self) -> dict:
        return {"iterations": len(self.times_ms), "requested": self.requested, "stopped_by": self.stopped_by,
                "warmup_iterations": self.warmup_iterations, "warmup_seconds": round(self.warmup_seconds, 6),
                "warmup_stable": self.warmup_stable, "warmup_started_at": self.warmup_started_at,
                "started_at": self.started_at, "ended_at": self.ended_at}


def measure(timer: IterationTimer, policy: TimingPolicy, cancel: CancelToken,
            report: Callable[[float], None] | None = None) -> Measurement:
    """Warms up, then times; see the module docstring."""
    t0 = time.perf_counter()
    warmup_started_at = time.time()
    done, stable, estimate = _warm_up(timer, policy, cancel, t0)
    warm_s = time.perf_counter() - t0
    started_at = time.time()
    deadline = t0 + policy.max_seconds
    floor = min(MIN_TIMED, policy.iterations)
    times: list[float] = []
    stopped_by = "iterations"
    while len(times) < policy.iterations:
        cancel.check()
        left = deadline - time.perf_counter()
        if left <= 0 and len(times) >= floor:
            stopped_by = "max_seconds"
            break
        # Up to the deadline (or the floor, once it passed), in chunks of about CHUNK_SECONDS.
        wanted = policy.iterations - len(times) if left > 0 else floor - len(times)
        within = int(left * 1000 / estimate) + 1 if left > 0 and estimate > 0 else wanted
        batch = timer.run(min(wanted, within, _chunk(estimate)))
        times.extend(batch)
        estimate = statistics.median(batch)
        if report:
            report(len(times) / policy.iterations)
    return Measurement(times, policy.iterations, stopped_by, done, warm_s, stable, warmup_started_at, started_at,
                       time.time())


def _warm_up(timer: IterationTimer, policy: TimingPolicy, cancel: CancelToken, t0: float) -> tuple[int, bool, float]:
    """Untimed (for the result) iterations until the minimum is done and the latency is stable.

    Returns:
        (iterations run, whether it ended stable, the last latency estimate in ms).
    """
    if policy.warmup <= 0 and policy.warmup_seconds <= 0:
        return 0, False, 0.0
    done, estimate = 0, 0.0
    medians: list[float] = []
    window: list[float] = []
    window_t0 = t0
    extra = max(0.5, 2 * policy.warmup_seconds)
    minimum_done_at: float | None = None
    while True:
        cancel.check()
        batch = timer.run(_chunk(estimate))
        done += len(batch)
        window.extend(batch)
        estimate = statistics.median(batch)
        now = time.perf_counter()
        if len(window) >= WINDOW_MIN and now - window_t0 >= WINDOW_SECONDS:
            medians.append(statistics.median(window))
            window, window_t0 = [], now
        if minimum_done_at is None and done >= policy.warmup and now - t0 >= policy.warmup_seconds:
            minimum_done_at = now
        if minimum_done_at is None:
            continue
        if len(medians) >= 2 and abs(medians[-1] - medians[-2]) <= STABLE_WITHIN * min(medians[-2:]):
            return done, True, estimate
        if now - minimum_done_at >= extra or now - t0 >= policy.max_seconds / 2:
            return done, False, estimate


def _chunk(estimate_ms: float) -> int:
    """Iterations per timer call: about CHUNK_SECONDS of work, 1 to MAX_CHUNK."""
    if estimate_ms <= 0:
        return 1
    return max(1, min(MAX_CHUNK, int(CHUNK_SECONDS * 1000 / estimate_ms)))
