"""Device memory, streams, events and CUDA graphs through cuda-python or PyTorch.

TensorRT's Python API takes raw device pointers and a stream handle; it does
not allocate I/O memory itself. trtpipe uses whichever of two libraries is
installed (never pycuda):
- cuda-python's runtime bindings (`from cuda.bindings import runtime`; older
  releases: `from cuda import cudart`), as NVIDIA's TensorRT 11 samples do
  (samples/python/common_runtime.py). Every call returns a tuple whose first
  item is the error code.
- PyTorch (`torch.cuda`): tensors as buffers, `torch.cuda.Stream`,
  `torch.cuda.Event(enable_timing=True)`, `torch.cuda.CUDAGraph`.
cuda-python is preferred (small, no framework); TRTPIPE_CUDA_API=torch or
=cuda-python forces one. Both give the same small interface below.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ...errors import InternalError, UnsupportedError


@dataclass
class DeviceBuffer:
    ptr: int
    nbytes: int
    handle: Any = None  # what keeps the memory alive (a torch tensor) or frees it


class CudaApi(ABC):
    """The few CUDA operations the TensorRT runtime needs."""

    name = ""

    @abstractmethod
    def device(self) -> tuple[str, tuple[int, int], str]:
        """(GPU name, compute capability, CUDA driver API version) of the current device."""

    @abstractmethod
    def stream(self) -> Any:
        """A new non-default stream."""

    @abstractmethod
    def stream_handle(self, stream) -> int:
        """The cudaStream_t as an int, for `execute_async_v3`."""

    @abstractmethod
    def alloc(self, nbytes: int) -> DeviceBuffer: ...

    @abstractmethod
    def free(self, buf: DeviceBuffer) -> None: ...

    @abstractmethod
    def to_device(self, buf: DeviceBuffer, arr: np.ndarray, stream) -> None:
        """Copies a contiguous host array into `buf` (ordered on `stream`)."""

    @abstractmethod
    def to_host(self, buf: DeviceBuffer, nbytes: int, stream) -> bytes:
        """Copies `nbytes` of `buf` to the host; synchronizes `stream`."""

    @abstractmethod
    def event(self) -> Any: ...

    @abstractmethod
    def record(self, event, stream) -> None: ...

    @abstractmethod
    def elapsed_ms(self, start, end) -> float:
        """Device time between two recorded events; waits for `end`."""

    @abstractmethod
    def synchronize(self, stream) -> None: ...

    @abstractmethod
    def capture(self, stream, enqueue: Callable[[], None]) -> Any:
        """Captures what `enqueue` puts on `stream` into a replayable graph."""

    @abstractmethod
    def replay(self, graph, stream) -> None: ...


class CudaPythonApi(CudaApi):
    name = "cuda-python"

    def __init__(self, cudart):
        self.rt = cudart

    def check(self, result):
        """The values of a cuda-python call; RuntimeError unless its error code is cudaSuccess."""
        err, rest = (result[0], result[1:]) if isinstance(result, tuple) else (result, ())
        if err != self.rt.cudaError_t.cudaSuccess:
            raise RuntimeError(f"CUDA runtime call failed: {err}")
        return rest[0] if len(rest) == 1 else rest

    def device(self):
        dev = self.check(self.rt.cudaGetDevice())
        props = self.check(self.rt.cudaGetDeviceProperties(dev))
        name = props.name.decode(errors="replace").rstrip("\x00") if isinstance(props.name, bytes) else str(props.name)
        return name, (int(props.major), int(props.minor)), str(self.check(self.rt.cudaDriverGetVersion()))

    def stream(self):
        return self.check(self.rt.cudaStreamCreateWithFlags(self.rt.cudaStreamNonBlocking))

    def stream_handle(self, stream) -> int:
        return int(stream)

    def alloc(self, nbytes):
        return DeviceBuffer(int(self.check(self.rt.cudaMalloc(max(nbytes, 1)))), nbytes)

    def free(self, buf):
        self.check(self.rt.cudaFree(buf.ptr))

    def to_device(self, buf, arr, stream):
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self.check(self.rt.cudaMemcpyAsync(buf.ptr, arr.ctypes.data, arr.nbytes, kind, stream))
        # Pageable host memory: wait before the caller may free or reuse `arr`.
        self.synchronize(stream)

    def to_host(self, buf, nbytes, stream):
        out = np.empty(nbytes, dtype=np.uint8)
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self.check(self.rt.cudaMemcpyAsync(out.ctypes.data, buf.ptr, nbytes, kind, stream))
        self.synchronize(stream)
        return out.tobytes()

    def event(self):
        return self.check(self.rt.cudaEventCreate())

    def record(self, event, stream):
        self.check(self.rt.cudaEventRecord(event, stream))

    def elapsed_ms(self, start, end):
        self.check(self.rt.cudaEventSynchronize(end))
        return float(self.check(self.rt.cudaEventElapsedTime(start, end)))

    def synchronize(self, stream):
        self.check(self.rt.cudaStreamSynchronize(stream))

    def capture(self, stream, enqueue):
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self.check(self.rt.cudaStreamBeginCapture(stream, mode))
        try:
            enqueue()
        finally:
            graph = self.check(self.rt.cudaStreamEndCapture(stream))
        return self.check(self.rt.cudaGraphInstantiate(graph, 0))

    def replay(self, graph, stream):
        self.check(self.rt.cudaGraphLaunch(graph, stream))


class TorchCudaApi(CudaApi):
    name = "torch"

    def __init__(self, torch):
        self.torch = torch

    def device(self):
        t = self.torch
        idx = t.cuda.current_device()
        major, minor = t.cuda.get_device_capability(idx)
        return t.cuda.get_device_name(idx), (int(major), int(minor)), str(t.version.cuda or "")

    def stream(self):
        return self.torch.cuda.Stream()

    def stream_handle(self, stream) -> int:
        return int(stream.cuda_stream)

    def alloc(self, nbytes):
        t = self.torch.empty(max(nbytes, 1), dtype=self.torch.uint8, device="cuda")
        return DeviceBuffer(int(t.data_ptr()), nbytes, t)

    def free(self, buf):
        buf.handle = None

    def to_device(self, buf, arr, stream):
        host = self.torch.from_numpy(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
        with self.torch.cuda.stream(stream):
            buf.handle[: arr.nbytes].copy_(host)
        stream.synchronize()

    def to_host(self, buf, nbytes, stream):
        with self.torch.cuda.stream(stream):
            host = buf.handle[:nbytes].to("cpu")
        stream.synchronize()
        return host.numpy().tobytes()

    def event(self):
        return self.torch.cuda.Event(enable_timing=True)

    def record(self, event, stream):
        event.record(stream)

    def elapsed_ms(self, start, end):
        end.synchronize()
        return float(start.elapsed_time(end))

    def synchronize(self, stream):
        stream.synchronize()

    def capture(self, stream, enqueue):
        graph = self.torch.cuda.CUDAGraph()
        # Thread-local, as trtexec captures: global mode would also forbid
        # unsafe CUDA calls on the runner's other threads during the capture.
        with self.torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
            enqueue()
        return graph

    def replay(self, graph, stream):
        with self.torch.cuda.stream(stream):
            graph.replay()


def get_cuda_api() -> CudaApi:
    """cuda-python if importable, else PyTorch with CUDA; TRTPIPE_CUDA_API forces one.

    Raises:
        UnsupportedError: neither is installed (or the forced one is missing).
    """
    forced = os.environ.get("TRTPIPE_CUDA_API", "")
    if forced not in ("", "torch", "cuda-python"):
        raise UnsupportedError(f"TRTPIPE_CUDA_API must be 'torch' or 'cuda-python', got '{forced}'", code="BAD_PARAM")
    errors = []
    for name in ("cuda-python", "torch"):
        if forced and name != forced:
            continue
        try:
            return _load(name)
        except ImportError as exc:
            errors.append(f"{name}: {exc}")
    raise UnsupportedError(
        "the TensorRT runtime needs cuda-python or PyTorch with CUDA for device memory and timing; install one "
        f"(`pip install cuda-python` or a CUDA build of torch) [{'; '.join(errors)}]", code="CUDA_API_MISSING")


def _load(name: str) -> CudaApi:
    if name == "cuda-python":
        try:
            from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
        except ImportError:
            from cuda import cudart  # older cuda-python layout
        return CudaPythonApi(cudart)
    if name == "torch":
        import torch

        if not torch.cuda.is_available():
            raise ImportError("torch has no usable CUDA device")
        return TorchCudaApi(torch)
    raise InternalError(f"unknown CUDA API {name}")
