"""The runtime side of the `tensorrt` test double, and a CUDA double with host memory as "device".

FakeGpu keeps the "device" allocations FakeCudaApi makes, so the engine can
check what the real one relies on: device tensors must point into device
allocations, host-located tensors (`get_tensor_location == HOST`: shape
tensors) must not. The engine runs the plan's ONNX graph with ONNX Runtime,
reading inputs from and writing outputs to the addresses it was given, and
reports one time per layer to an attached IProfiler. The inspector writes the
10.x JSON form (`Format/Datatype`, `Bindings`) or the 11.x one (`Format` +
`Datatype`, `I/O Tensors`) with one layer per ONNX node.
"""
from __future__ import annotations

import ctypes
import itertools
import json
import time

import numpy as np
import onnx

from trtpipe_runner.backends.tensorrt.cuda_api import CudaApi, DeviceBuffer

from .fake_trt_build import ONNX_TO_TRT, creation_check, log_error, read_plan

_TYPE_WORDS = {"FLOAT": ("FP32", "Float"), "HALF": ("FP16", "Half"), "BF16": ("BF16", "BFloat16"),
               "INT8": ("Int8", "Int8"), "INT32": ("Int32", "Int32"), "INT64": ("Int64", "Int64"),
               "BOOL": ("Bool", "Bool"), "UINT8": ("UInt8", "UInt8"), "FP8": ("FP8", "FP8")}
_NP = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
       "BOOL": np.bool_, "UINT8": np.uint8}


class FakeGpu:
    """The double's device memory: allocations by address."""

    def __init__(self):
        self.allocations: dict[int, np.ndarray] = {}

    def on_device(self, ptr: int) -> bool:
        return any(a <= ptr < a + buf.nbytes for a, buf in self.allocations.items())


class FakeCudaApi(CudaApi):
    """The CudaApi interface over host memory; events read the host clock."""

    name = "fake-cuda"

    def __init__(self, gpu: FakeGpu, device_name: str = "NVIDIA H200 (test double)", cc=(9, 0)):
        self.gpu, self._device, self._streams = gpu, (device_name, cc, "13.0"), itertools.count(1)

    def device(self):
        return self._device

    def stream(self):
        return next(self._streams)

    def stream_handle(self, stream) -> int:
        return int(stream)

    def alloc(self, nbytes):
        buf = np.zeros(max(nbytes, 1), np.uint8)
        self.gpu.allocations[buf.ctypes.data] = buf
        return DeviceBuffer(buf.ctypes.data, nbytes, buf)

    def free(self, buf):
        self.gpu.allocations.pop(buf.ptr, None)

    def to_device(self, buf, arr, stream):
        ctypes.memmove(buf.ptr, np.ascontiguousarray(arr).ctypes.data, arr.nbytes)

    def to_host(self, buf, nbytes, stream):
        return ctypes.string_at(buf.ptr, nbytes)

    def event(self):
        return [0.0]

    def record(self, event, stream):
        event[0] = time.perf_counter()

    def elapsed_ms(self, start, end):
        return (end[0] - start[0]) * 1000.0

    def synchronize(self, stream):
        pass

    def capture(self, stream, enqueue):
        return enqueue

    def replay(self, graph, stream):
        graph()


class FakeRuntime:
    def __init__(self, trt, logger):
        creation_check(trt, logger, "Runtime")
        self._trt, self._logger = trt, logger
        self.engine_host_code_allowed = False

    def deserialize_cuda_engine(self, data):
        plan = read_plan(self._trt, data)
        if plan is None or plan["version"] != self._trt.__version__:
            log_error(self._logger, self._trt, "[runtime.cpp::deserializeCudaEngine] Error Code 1: Serialization "
                                               "(The engine plan file is not compatible with this version of TensorRT)")
            return None
        return FakeEngine(self._trt, plan)


class FakeEngine:
    def __init__(self, trt, plan: dict):
        self._trt, self.plan = trt, plan
        self.model = onnx.load_from_string(bytes.fromhex(plan["model"]))
        g = self.model.graph
        self._io = [(vi, trt.TensorIOMode.INPUT) for vi in g.input] + [(vi, trt.TensorIOMode.OUTPUT) for vi in g.output]
        self._by_name = {vi.name: (vi, mode) for vi, mode in self._io}
        self._session = None

    num_io_tensors = property(lambda self: len(self._io))
    num_layers = property(lambda self: sum(1 for n in self.model.graph.node if n.op_type != "Constant"))

    def get_tensor_name(self, i):
        return self._io[i][0].name

    def get_tensor_mode(self, name):
        return self._by_name[name][1]

    def get_tensor_dtype(self, name):
        return getattr(self._trt.DataType, ONNX_TO_TRT[self._by_name[name][0].type.tensor_type.elem_type])

    def get_tensor_shape(self, name):
        dims = self._by_name[name][0].type.tensor_type.shape.dim
        return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)

    def get_tensor_profile_shape(self, name, profile_index):
        return [tuple(s) for s in self.plan["profiles"][profile_index][name]]

    def is_shape_inference_io(self, name):
        return name in self.plan["shape_outputs"]

    def get_tensor_location(self, name):
        loc = self._trt.TensorLocation
        return loc.HOST if self.is_shape_inference_io(name) else loc.DEVICE

    def create_execution_context(self, strategy=None):
        """An execution context; USER_MANAGED (ExecutionContextAllocationStrategy) allocates no
        activation memory, which the double does not model either way."""
        return FakeContext(self)

    def serialize(self):
        from .fake_trt_build import PLAN_MAGIC, FakeHostMemory

        return FakeHostMemory(PLAN_MAGIC + json.dumps(self.plan).encode())

    def create_engine_inspector(self):
        return FakeInspector(self)

    def session(self):
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            self._session = ort.InferenceSession(self.model.SerializeToString(), opts,
                                                 providers=["CPUExecutionProvider"])
        return self._session


class FakeContext:
    def __init__(self, engine: FakeEngine):
        self._engine, self._trt = engine, engine._trt
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._addresses: dict[str, int] = {}
        self._out_shapes: dict[str, tuple[int, ...]] = {}
        self.profiler = None

    def set_input_shape(self, name, shape) -> bool:
        profiles = self._engine.plan["profiles"]
        if profiles and name in profiles[0]:
            lo, _, hi = profiles[0][name]
            if len(shape) != len(lo) or any(s < a or s > b for s, a, b in zip(shape, lo, hi)):
                return False
        self._shapes[name] = tuple(shape)
        self._out_shapes = {}
        return True

    def get_tensor_shape(self, name):
        if name in self._shapes:
            return self._shapes[name]
        if not self._out_shapes:
            feeds = {n: np.zeros(s, _NP[str(self._engine.get_tensor_dtype(n)).split(".")[-1]])
                     for n, s in self._shapes.items()}
            outs = self._engine.session().run(None, feeds)
            self._out_shapes = {o.name: tuple(a.shape) for o, a in zip(self._engine.session().get_outputs(), outs)}
        return self._out_shapes.get(name, self._engine.get_tensor_shape(name))

    def set_tensor_address(self, name, ptr) -> bool:
        self._addresses[name] = int(ptr)
        return True

    def execute_async_v3(self, stream_handle) -> bool:
        engine, gpu = self._engine, self._trt._gpu
        for name in list(self._shapes) + [o.name for o in engine.model.graph.output]:
            on_host = engine.get_tensor_location(name) == self._trt.TensorLocation.HOST
            ptr = self._addresses.get(name)
            if ptr is None or gpu.on_device(ptr) == on_host:
                return False  # TensorRT would read or write the wrong memory (or crash)
        feeds = {}
        for name, shape in self._shapes.items():
            dtype = np.dtype(_NP[str(engine.get_tensor_dtype(name)).split(".")[-1]])
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            feeds[name] = np.frombuffer(ctypes.string_at(self._addresses[name], nbytes), dtype).reshape(shape)
        t0 = time.perf_counter()
        outs = engine.session().run(None, feeds)
        elapsed = (time.perf_counter() - t0) * 1000.0
        for o, arr in zip(engine.session().get_outputs(), outs):
            arr = np.ascontiguousarray(arr)
            ctypes.memmove(self._addresses[o.name], arr.ctypes.data, arr.nbytes)
        if self.profiler is not None:
            layers = [n.name for n in engine.model.graph.node if n.op_type != "Constant"]
            for name in layers:
                self.profiler.report_layer_time(name, elapsed / max(len(layers), 1))
        return True


class FakeInspector:
    def __init__(self, engine: FakeEngine):
        self._engine, self.execution_context = engine, None

    def get_engine_information(self, fmt) -> str:
        from trtpipe_runner.model.tensors import tensor_types

        engine, trt = self._engine, self._engine._trt
        eleven = trt.__version__.startswith("11")
        nodes = [n for n in engine.model.graph.node if n.op_type != "Constant"]
        if not engine.plan["detailed"]:
            return json.dumps({"Layers": [n.name for n in nodes], "Bindings": [vi.name for vi, _ in engine._io]})
        types = tensor_types(engine.model)
        inits = {i.name: i.data_type for i in engine.model.graph.initializer}

        def tensor(name):
            kind = ONNX_TO_TRT.get(types.get(name), "FLOAT")
            ten, el = _TYPE_WORDS[kind]
            return ({"Name": name, "Location": "Device", "Format": "Row major linear", "Datatype": el} if eleven
                    else {"Name": name, "Location": "Device", "Format/Datatype": f"Row major linear {ten}"})

        layers = []
        for n in nodes:
            layer = {"Name": n.name, "LayerType": n.op_type, "Inputs": [tensor(t) for t in n.input if t and t not in inits],
                     "Outputs": [tensor(t) for t in n.output], "TacticName": "fake_tactic", "StreamId": 0,
                     "Metadata": f"[ONNX Layer: {n.name}]"}
            weights = [inits[t] for t in n.input[1:2] if t in inits]
            if weights and n.op_type in ("Conv", "Gemm", "MatMul"):
                layer["Weights"] = {"Type": _TYPE_WORDS[ONNX_TO_TRT.get(weights[0], "FLOAT")][1], "Count": 1}
            layers.append(layer)
        io = [{"Name": vi.name, "IOMode": "Input" if mode == trt.TensorIOMode.INPUT else "Output",
               "DataType": _TYPE_WORDS[ONNX_TO_TRT[vi.type.tensor_type.elem_type]][1]} for vi, mode in engine._io]
        return json.dumps({"Layers": layers, "I/O Tensors": io} if eleven
                          else {"Layers": layers, "Bindings": [vi.name for vi, _ in engine._io]})
