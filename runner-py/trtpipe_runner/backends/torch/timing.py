"""Device timing: CUDA events on a side stream, optionally replaying a CUDA graph.

Each iteration is bracketed by its own pair of events recorded on the
stream, so a GPU-bound run measures kernel time and a launch-bound one
(small batches, eager mode) measures how long the host takes to issue the
kernels: both are the latency a caller would see. The host synchronizes once
per `run(n)` call (the timing protocol, timing/loop.py, issues chunks of about
a quarter second), to honour the time budget and cancellation.
"""
from __future__ import annotations

from typing import Any, Callable


class CudaEventTimer:
    """An IterationTimer (timing/loop.py): latencies of `fn()` from CUDA events on `stream`,
    run in inference mode on `device`."""

    def __init__(self, fn: Callable[[], Any], stream, device, cancel=None):
        self._fn = fn
        self._stream = stream
        self._device = device
        self._cancel = cancel

    def run(self, n: int) -> list[float]:
        import torch

        starts = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(n)]
        with torch.inference_mode(), torch.cuda.device(self._device), torch.cuda.stream(self._stream):
            for i in range(n):
                if self._cancel is not None:
                    self._cancel.check()
                starts[i].record(self._stream)
                self._fn()
                ends[i].record(self._stream)
        self._stream.synchronize()
        return [s.elapsed_time(e) for s, e in zip(starts, ends)]


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
