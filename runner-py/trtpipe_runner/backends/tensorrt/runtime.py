"""A loaded TensorRT engine as a backend Session: run, time, profile.

Execution follows the name-based API shared by 10.x and 11.x
(`set_input_shape`, `set_tensor_address`, `execute_async_v3(stream)`;
python/docstrings/infer/pyCoreDoc.h), on a non-default stream: on the
default stream TensorRT adds extra synchronizations. Timing:
- inputs are copied to the device once, outside the timed region, and one
  synchronized run triggers TensorRT's lazy initialization; warm-up and the
  time budget follow the timing protocol (timing/loop.py);
- per iteration a CUDA event before and after `execute_async_v3` (or a CUDA
  graph launch), synchronized on the end event, so each sample is one
  inference's device latency;
- optional CUDA graph replay (`cuda_graph: true`): one enqueue captured after
  a first synchronized run; engines that cannot be captured fall back to
  plain enqueue and say so in `timer_name()`.
Per-layer times come from an IProfiler in a separate run (`layer_times`),
never mixed with the latency samples, because profiling slows enqueue.
I/O tensors TensorRT wants on the host (`get_tensor_location == HOST`: shape
tensors, `is_shape_inference_io`) get host memory, never a device buffer:
TensorRT reads and writes them through the CPU pointer.
"""
from __future__ import annotations

import numpy as np

from ...cancel import CancelToken
from ...errors import UserError
from ...model.tensors import TensorSpec
from ..base import Session
from .cuda_api import DeviceBuffer, get_cuda_api
from .loader import engine_from_bytes, import_tensorrt, make_logger

_NP_BY_TRT = {"FLOAT": "float32", "HALF": "float16", "INT8": "int8", "INT32": "int32", "INT64": "int64",
              "BOOL": "bool", "UINT8": "uint8", "BF16": "bfloat16", "FP8": "float8_e4m3fn"}


def numpy_dtype(trt_dtype) -> np.dtype:
    """numpy dtype for a TensorRT DataType; bf16/fp8 through ml_dtypes (an onnx dependency)."""
    name = _NP_BY_TRT.get(str(trt_dtype).split(".")[-1])
    if name in ("bfloat16", "float8_e4m3fn"):
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    if name is None:
        raise UserError(f"engine I/O type {trt_dtype} has no numpy equivalent", code="TRT_IO_TYPE")
    return np.dtype(name)


class TrtEventTimer:
    """An IterationTimer (timing/loop.py): one pair of CUDA events per inference,
    synchronized on the end event, so each sample is one inference's device latency."""

    def __init__(self, cuda, stream, launch, cancel: CancelToken):
        self._cuda, self._stream, self._launch, self._cancel = cuda, stream, launch, cancel
        self._start, self._end = cuda.event(), cuda.event()

    def run(self, n: int) -> list[float]:
        times = []
        for _ in range(n):
            self._cancel.check()
            self._cuda.record(self._start, self._stream)
            self._launch()
            self._cuda.record(self._end, self._stream)
            times.append(self._cuda.elapsed_ms(self._start, self._end))
        return times


class TrtSession(Session):
    def __init__(self, plan: bytes, sidecar: dict, settings: dict):
        self._trt = trt = import_tensorrt()
        self._cuda = get_cuda_api()
        self._logger = make_logger(trt)
        self._runtime, self._engine = engine_from_bytes(trt, self._logger, plan,
                                                        bool(sidecar.get("settings", {}).get("version_compatible")))
        self._context = self._engine.create_execution_context()
        self._stream = self._cuda.stream()
        self._graph_wanted = bool(settings.get("cuda_graph", False))
        self._graph_used = False
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        self._inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._outputs = [n for n in names if n not in self._inputs]
        self._dtype = {n: numpy_dtype(self._engine.get_tensor_dtype(n)) for n in names}
        host = getattr(getattr(trt, "TensorLocation", None), "HOST", None)
        self._on_host = {n for n in names if host is not None and self._engine.get_tensor_location(n) == host}
        self._host_arrays: dict[str, np.ndarray] = {}  # kept alive while TensorRT holds their pointers
        self._buffers: dict[str, DeviceBuffer] = {}
        self._out_shapes: dict[str, tuple[int, ...]] = {}

    def inputs(self) -> list[TensorSpec]:
        return [TensorSpec(n, str(self._dtype[n]),
                           tuple(d if d >= 0 else "?" for d in self._engine.get_tensor_shape(n)))
                for n in self._inputs]

    def output_names(self) -> list[str]:
        return list(self._outputs)

    def _buffer(self, name: str, nbytes: int) -> DeviceBuffer:
        buf = self._buffers.get(name)
        if buf is None or buf.nbytes < nbytes:
            if buf is not None:
                self._cuda.free(buf)
            buf = self._buffers[name] = self._cuda.alloc(nbytes)
        self._context.set_tensor_address(name, buf.ptr)
        return buf

    def _stage_inputs(self, feeds: dict[str, np.ndarray]) -> None:
        """Sets shapes, (re)allocates buffers and copies inputs to the device."""
        for name in self._inputs:
            if name not in feeds:
                raise UserError(f"no data for engine input '{name}'", code="DATA_INPUT_MISSING", input=name)
            arr = np.ascontiguousarray(feeds[name], dtype=self._dtype[name])
            self._check_profile(name, arr.shape)
            if not self._context.set_input_shape(name, tuple(arr.shape)):
                raise UserError(f"TensorRT rejected shape {list(arr.shape)} for input '{name}'", code="BAD_SHAPE",
                                input=name)
            if name in self._on_host:
                self._host_address(name, arr.copy())
            else:
                self._cuda.to_device(self._buffer(name, arr.nbytes), arr, self._stream)
        for name in self._outputs:
            shape = tuple(self._context.get_tensor_shape(name))
            if any(d < 0 for d in shape):
                raise UserError(f"output '{name}' has a data-dependent shape {list(shape)}; trtpipe's TensorRT "
                                "runtime does not support those yet", code="TRT_DYNAMIC_OUTPUT", input=name)
            self._out_shapes[name] = shape
            if name in self._on_host:
                self._host_address(name, np.empty(shape, self._dtype[name]))
            else:
                self._buffer(name, int(np.prod(shape, dtype=np.int64)) * self._dtype[name].itemsize)

    def _host_address(self, name: str, arr: np.ndarray) -> None:
        self._host_arrays[name] = arr
        self._context.set_tensor_address(name, arr.ctypes.data)

    def _check_profile(self, name: str, shape: tuple[int, ...]) -> None:
        if all(d >= 0 for d in self._engine.get_tensor_shape(name)):
            return
        lo, _, hi = (tuple(s) for s in self._engine.get_tensor_profile_shape(name, 0))
        if len(shape) != len(lo) or any(s < a or s > b for s, a, b in zip(shape, lo, hi)):
            raise UserError(
                f"input '{name}' has shape {list(shape)}, outside the engine's optimization profile (min {list(lo)}, "
                f"max {list(hi)}); rebuild with a larger max_batch or model.inputs.{name} ranges",
                code="SHAPE_OUTSIDE_PROFILE", input=name)

    def _enqueue(self) -> None:
        if not self._context.execute_async_v3(self._cuda.stream_handle(self._stream)):
            raise UserError("TensorRT failed to enqueue the inference (see the runner log)", code="BACKEND_RUN_FAILED")

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._stage_inputs(feeds)
        self._enqueue()
        out = {}
        if self._on_host:
            self._cuda.synchronize(self._stream)  # host outputs are written when the stream is done
        for name in self._outputs:
            shape, dtype = self._out_shapes[name], self._dtype[name]
            if name in self._on_host:
                out[name] = self._host_arrays[name].copy()
                continue
            raw = self._cuda.to_host(self._buffers[name], int(np.prod(shape, dtype=np.int64)) * dtype.itemsize,
                                     self._stream)
            out[name] = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return out

    def timer(self, feeds: dict[str, np.ndarray], cancel: CancelToken) -> "TrtEventTimer":
        """A CUDA-event timer (see the module docstring) with `feeds` copied to the device once.

        Args:
            feeds: one batch of inputs (host arrays).
            cancel: checked between runs.
        """
        self._stage_inputs(feeds)
        # One synchronized run before timing or capture: TensorRT does
        # shape-dependent setup on the first enqueue (trtexec does the same).
        self._enqueue()
        self._cuda.synchronize(self._stream)
        launch = self._capture_graph() if self._graph_wanted else self._enqueue
        return TrtEventTimer(self._cuda, self._stream, launch, cancel)

    def device(self) -> str:
        return "cuda:0"  # the process's current CUDA device, as CUDA_VISIBLE_DEVICES maps it

    def _capture_graph(self):
        """A launcher replaying a captured enqueue, or plain enqueue if capture fails."""
        try:
            graph = self._cuda.capture(self._stream, self._enqueue)
        except Exception:  # noqa: BLE001 - engines with data-dependent control flow cannot be captured
            self._graph_used = False
            self._cuda.synchronize(self._stream)
            return self._enqueue
        self._graph_used = True
        return lambda: self._cuda.replay(graph, self._stream)

    def timer_name(self) -> str:
        mode = "CUDA graph replay" if self._graph_used else "execute_async_v3"
        fallback = " (graph capture failed, plain enqueue)" if self._graph_wanted and not self._graph_used else ""
        return f"CUDA events ({self._cuda.name}) around {mode}{fallback}"

    def layer_times(self, feeds: dict[str, np.ndarray], iterations: int = 20) -> dict[str, float]:
        """Median time per engine layer over profiled runs (IProfiler).

        Args:
            feeds: one batch of inputs.
            iterations: profiled runs.

        Returns:
            {engine layer name: median milliseconds}.
        """
        trt = self._trt
        samples: dict[str, list[float]] = {}

        class Collector(trt.IProfiler):
            def __init__(self):
                trt.IProfiler.__init__(self)

            def report_layer_time(self, layer_name, ms):
                samples.setdefault(str(layer_name), []).append(float(ms))

        self._stage_inputs(feeds)
        # A second context: attaching a profiler changes how enqueue behaves,
        # so the timing context never carries one.
        context = self._engine.create_execution_context()
        for name in self._inputs:
            context.set_input_shape(name, tuple(self._context.get_tensor_shape(name)))
        for name, buf in self._buffers.items():
            context.set_tensor_address(name, buf.ptr)
        for name, arr in self._host_arrays.items():
            context.set_tensor_address(name, arr.ctypes.data)
        collector = Collector()  # held here: TensorRT does not keep the Python object alive
        context.profiler = collector
        handle = self._cuda.stream_handle(self._stream)
        for _ in range(max(1, iterations)):
            if not context.execute_async_v3(handle):
                raise UserError("TensorRT failed to enqueue a profiled inference", code="BACKEND_RUN_FAILED")
            self._cuda.synchronize(self._stream)
        del context
        return {name: float(np.median(v)) for name, v in samples.items()}

    def close(self) -> None:
        for buf in self._buffers.values():
            self._cuda.free(buf)
        self._buffers.clear()
        # Context, engine, runtime: each must go before what created it.
        self._context = None
        self._engine = None
        self._runtime = None
