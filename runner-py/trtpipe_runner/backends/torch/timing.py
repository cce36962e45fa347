"""Device timing: CUDA events on a side stream, optionally replaying a CUDA graph.

Each iteration is bracketed by its own pair of events recorded on the
stream, so a GPU-bound run measures kernel time and a launch-bound one
(small batches, eager mode) measures how long the host takes to issue the
kernels: both are the latency a caller would see. The host synchronizes
every few iterations only to honour the time budget and cancellation.
"""
from __future__ import annotations

import time
from typing import Any, Callable

SYNC_EVERY = 25


def time_cuda(fn: Callable[[], Any], warmup: int, iterations: int, max_seconds: float, cancel=None,
              report=None, stream=None) -> list[float]:
    """Latencies of `fn()` in milliseconds, measured with CUDA events on `stream`.

    Args:
        fn: one inference; inputs already on the device.
        warmup: untimed calls first.
        iterations: timed calls (fewer if max_seconds runs out; at least 10).
        max_seconds: budget for the timed calls.
        cancel: a CancelToken checked between calls, or None.
        report: optional callable(fraction done).
        stream: the CUDA stream to run on (a new side stream by default).
    """
    import torch

    stream = stream or torch.cuda.Stream()
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            if cancel:
                cancel.check()
            fn()
        stream.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(iterations)]
        deadline = time.perf_counter() + max_seconds
        done = 0
        for i in range(iterations):
            if cancel:
                cancel.check()
            starts[i].record(stream)
            fn()
            ends[i].record(stream)
            done = i + 1
            if done % SYNC_EVERY == 0:
                stream.synchronize()
                if report:
                    report(done / iterations)
                if time.perf_counter() > deadline and done >= 10:
                    break
        stream.synchronize()
    return [s.elapsed_time(e) for s, e in zip(starts[:done], ends[:done])]


def capture_graph(fn: Callable[[], Any], stream=None, warmup: int = 3):
    """Captures `fn()` into a CUDA graph; returns (replay callable, the captured outputs).

    `fn` must read its inputs from fixed device tensors; a replay recomputes
    the same outputs in place. Warm-up runs on the capture stream first, as
    torch requires (cuBLAS/cuDNN workspaces, the caching allocator).
    """
    import torch

    stream = stream or torch.cuda.Stream()
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            fn()
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        outputs = fn()
    stream.synchronize()
    return graph.replay, outputs
