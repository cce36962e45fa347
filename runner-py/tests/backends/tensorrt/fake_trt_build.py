"""The build side of the `tensorrt` test double: logger, ONNX parser, network, builder, config.

Modelled on the 10.x/11.x Python bindings (pyCore.cpp, pyGraph.cpp,
pyOnnx.cpp): Builder/Runtime raise TypeError after logging why when they
cannot be created; the parser fills a network from the ONNX file and reports
ParserErrors with node index, name and operator; `add_optimization_profile`
returns -1 for an invalid profile; `build_serialized_network` returns None
after logging ERRORs (a dynamic input without a profile, a library it cannot
load, no kernel for a node), else host memory holding the plan; a timing cache
it cannot read is logged as an ERROR and replaced by an empty one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import onnx

PLAN_MAGIC = b"FAKETRT\0"
CACHE_MAGIC = b"FAKETC1\0"
# ONNX element type -> DataType member name
ONNX_TO_TRT = {onnx.TensorProto.FLOAT: "FLOAT", onnx.TensorProto.FLOAT16: "HALF", onnx.TensorProto.BFLOAT16: "BF16",
               onnx.TensorProto.INT8: "INT8", onnx.TensorProto.UINT8: "UINT8", onnx.TensorProto.INT32: "INT32",
               onnx.TensorProto.INT64: "INT64", onnx.TensorProto.BOOL: "BOOL",
               onnx.TensorProto.FLOAT8E4M3FN: "FP8"}


@dataclass
class FakeOptions:
    """What the fake machine has: a GPU, libraries, kernels. Defaults: an H200 with everything."""

    gpu: bool = True
    gpu_name: str = "NVIDIA H200 (test double)"
    compute_capability: tuple[int, int] = (9, 0)
    missing_libraries: set[str] = field(default_factory=set)  # e.g. {"libnvinfer_lean.so.10"}
    no_kernel_for: set[str] = field(default_factory=set)  # ONNX op types the builder finds no tactic for
    parser_rejects: set[str] = field(default_factory=set)  # ONNX op types the parser refuses


def log_error(logger, trt, message: str) -> None:
    logger.log(trt.ILogger.Severity.ERROR, message)


def creation_check(trt, logger, what: str) -> None:
    """What createInferBuilder/createInferRuntime do on a bad machine: log, then the binding raises."""
    opts: FakeOptions = trt._options
    resource = f"libnvinfer_builder_resource_sm{opts.compute_capability[0]}{opts.compute_capability[1]}.so." \
               f"{trt.__version__}"
    if what == "Builder" and resource in opts.missing_libraries:
        log_error(logger, trt, f"[libLoader.cpp::Impl::293] Error Code 6: API Usage Error (Unable to load library: "
                               f"{resource}: {resource}: cannot open shared object file: No such file or directory)")
        raise TypeError("pybind11::init(): factory function returned nullptr")
    if not opts.gpu:
        log_error(logger, trt, "CUDA initialization failure with error: 35. Please check your CUDA installation: "
                               "http://docs.nvidia.com/cuda/cuda-installation-guide-linux/index.html")
        raise TypeError("pybind11::init(): factory function returned nullptr")


class FakeTensor:
    def __init__(self, name: str, dtype, shape: tuple[int, ...], is_shape_tensor: bool = False):
        self.name, self.dtype, self.shape, self.is_shape_tensor = name, dtype, tuple(shape), is_shape_tensor
        self.is_network_output = False


class FakeLayer:
    """A network layer: name, type, metadata and outputs; records precision pins (legacy mode)."""

    def __init__(self, name, layer_type, outputs, metadata=""):
        """`outputs`: (tensor name, dtype) per output; the parser names them after the ONNX tensors."""
        self.name, self.type, self.metadata = name, layer_type, metadata
        self._outputs = [FakeTensor(t, d, ()) for t, d in outputs]
        self.precision = None
        self.output_types: dict[int, object] = {}

    @property
    def num_outputs(self):
        return len(self._outputs)

    def get_output(self, i):
        return self._outputs[i]

    def set_output_type(self, i, dtype):
        self.output_types[i] = dtype


class FakeNetwork:
    def __init__(self, layers=None, flags: int = 0):
        self.flags = flags
        self._layers = list(layers or [])
        self.inputs: list[FakeTensor] = []
        self.outputs: list[FakeTensor] = []
        self.model_bytes = b""

    num_layers = property(lambda self: len(self._layers))
    num_inputs = property(lambda self: len(self.inputs))
    num_outputs = property(lambda self: len(self.outputs))

    def get_layer(self, i):
        return self._layers[i]

    def get_input(self, i):
        return self.inputs[i]

    def get_output(self, i):
        return self.outputs[i]

    def mark_output(self, tensor):
        """INetworkDefinition::markOutput: the tensor becomes an engine output."""
        if not tensor.is_network_output:
            tensor.is_network_output = True
            self.outputs.append(tensor)

    def unmark_output(self, tensor):
        if tensor.is_network_output:
            tensor.is_network_output = False
            self.outputs.remove(tensor)


class FakeParserError:
    def __init__(self, trt, desc: str, node: int, name: str, op: str):
        self._trt, self._desc, self._node, self._name, self._op = trt, desc, node, name, op

    def desc(self):
        return self._desc

    def code(self):
        return "ErrorCode.UNSUPPORTED_NODE"

    def node(self):
        return self._node

    def node_name(self):
        return self._name

    def node_operator(self):
        return self._op


class FakeOnnxParser:
    """trt.OnnxParser(network, logger): fills the network from the ONNX graph, one layer per node."""

    def __init__(self, trt, network: FakeNetwork, logger):
        self._trt, self._network, self._logger, self._errors = trt, network, logger, []

    num_errors = property(lambda self: len(self._errors))

    def get_error(self, i):
        return self._errors[i]

    def parse_from_file(self, path: str) -> bool:
        trt = self._trt
        model = onnx.load(path)
        for i, node in enumerate(model.graph.node):
            if node.op_type in trt._options.parser_rejects:
                self._errors.append(FakeParserError(trt, f"No importer registered for op: {node.op_type}", i,
                                                    node.name, node.op_type))
        if self._errors:
            return False
        types = _types(model)
        dt = trt.DataType
        for vi in model.graph.input:
            dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim)
            self._network.inputs.append(FakeTensor(vi.name, getattr(dt, ONNX_TO_TRT[vi.type.tensor_type.elem_type]),
                                                   dims))
        shape_made = {o for n in model.graph.node if n.op_type == "Shape" for o in n.output}
        produced = {}
        for node in model.graph.node:
            if node.op_type == "Constant":
                continue  # the real parser folds constants into weights: no layer, no tensor
            outs = [(o, getattr(dt, ONNX_TO_TRT.get(types.get(o), "FLOAT"))) for o in node.output]
            kind = {"Conv": "CONVOLUTION", "Gemm": "MATRIX_MULTIPLY", "MatMul": "MATRIX_MULTIPLY", "Cast": "CAST",
                    "Softmax": "SOFTMAX", "QuantizeLinear": "QUANTIZE", "DequantizeLinear": "DEQUANTIZE",
                    "Shape": "SHAPE"}.get(node.op_type, "ELEMENTWISE")
            layer = FakeLayer(node.name, getattr(trt.LayerType, kind), outs, f"[ONNX Layer: {node.name}]")
            layer.onnx = node
            produced.update({t.name: t for t in layer._outputs})
            self._network._layers.append(layer)
        for vi in model.graph.output:
            tensor = produced.get(vi.name) or FakeTensor(vi.name, getattr(dt, ONNX_TO_TRT[vi.type.tensor_type.elem_type]), ())
            tensor.is_shape_tensor = vi.name in shape_made
            self._network.mark_output(tensor)
        self._network.model_bytes = model.SerializeToString()
        return True


def _types(model) -> dict[str, int]:
    from trtpipe_runner.model.tensors import tensor_types

    return tensor_types(model)


class FakeProfile:
    def __init__(self):
        self.shapes: dict = {}

    def set_shape(self, name, mn, opt, mx):
        self.shapes[name] = (tuple(mn), tuple(opt), tuple(mx))

    def __bool__(self) -> bool:
        """pybind: bool(profile) is IOptimizationProfile::isValid()."""
        return all(len(a) == len(b) == len(c) and all(x <= y <= z for x, y, z in zip(a, b, c))
                   for a, b, c in self.shapes.values())


class FakeTimingCache:
    def __init__(self, entries: dict | None = None):
        self.entries = dict(entries or {})

    def serialize(self) -> bytes:
        return CACHE_MAGIC + json.dumps(self.entries, sort_keys=True).encode()


class FakeConfig:
    """IBuilderConfig: records what was set; TF32 is on in a fresh config, as in TensorRT."""

    def __init__(self, trt, logger=None):
        self._trt, self._logger = trt, logger
        self.flags = {trt.BuilderFlag.TF32}
        self.pool_limits: dict = {}
        self.profiles: list = []
        self.profiling_verbosity = trt.ProfilingVerbosity.LAYER_NAMES_ONLY
        self.builder_optimization_level = 3
        self.hardware_compatibility_level = trt.HardwareCompatibilityLevel.NONE
        self.progress_monitor = None
        self._cache = None

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.flags.discard(flag)

    def get_flag(self, flag) -> bool:
        return flag in self.flags

    def set_memory_pool_limit(self, pool, nbytes):
        self.pool_limits[pool] = nbytes

    def add_optimization_profile(self, profile) -> int:
        if not profile:
            if self._logger is not None:
                log_error(self._logger, self._trt, "[optimizationProfile.cpp::isValid] invalid profile: need "
                                                   "min <= opt <= max of equal rank on every input")
            return -1
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, data: bytes):
        data = bytes(data)
        if not data:
            return FakeTimingCache()
        if not data.startswith(CACHE_MAGIC):
            # TensorRT logs the mismatch as an ERROR and hands back an empty cache
            log_error(self._logger, self._trt, "[timingCache.cpp::load] Error Code 1: Serialization (Serialized "
                                               "timing cache is incompatible with this TensorRT build)")
            return FakeTimingCache()
        return FakeTimingCache(json.loads(data[len(CACHE_MAGIC):]))

    def set_timing_cache(self, cache, ignore_mismatch: bool) -> bool:
        self._cache = cache
        return True

    def get_timing_cache(self):
        return self._cache


class FakeBuilder:
    def __init__(self, trt, logger):
        creation_check(trt, logger, "Builder")
        self._trt, self._logger = trt, logger

    def create_network(self, flags: int = 0):
        return FakeNetwork(flags=int(flags))

    def create_builder_config(self):
        return FakeConfig(self._trt, self._logger)

    def create_optimization_profile(self):
        return FakeProfile()

    def build_engine_with_config(self, network: FakeNetwork, config: FakeConfig):
        """IBuilder.build_engine_with_config: the built engine itself (None when the build fails),
        as deserializing the plan build_serialized_network writes would give it."""
        from .fake_trt_runtime import FakeEngine

        if self._trt.BuilderFlag.VERSION_COMPATIBLE in config.flags:  # as TensorRT 10.6 refuses it
            log_error(self._logger, self._trt, "IBuilder::buildEngineWithConfig: Error Code 3: API Usage Error "
                      "(Parameter check failed, condition: !config.getFlag(BuilderFlag::kVERSION_COMPATIBLE). "
                      "Directly built ICudaEngine is not version compatible, please use buildSerializedNetwork "
                      "instead.)")
            return None
        memory = self.build_serialized_network(network, config)
        return None if memory is None else FakeEngine(self._trt, read_plan(self._trt, bytes(memory)))

    def build_serialized_network(self, network: FakeNetwork, config: FakeConfig):
        trt, opts = self._trt, self._trt._options
        dynamic = [t.name for t in network.inputs if any(d < 0 for d in t.shape)]
        if dynamic and not config.profiles:
            log_error(self._logger, trt, f"Network has dynamic or shape inputs, but no optimization profile has been "
                                         f"defined ({', '.join(dynamic)})")
            return None
        lean = f"libnvinfer_lean.so.{trt.__version__.split('.')[0]}"
        if trt.BuilderFlag.VERSION_COMPATIBLE in config.flags and lean in opts.missing_libraries:
            log_error(self._logger, trt, f"[libLoader.cpp::Impl::293] Error Code 6: API Usage Error (Unable to load "
                                         f"library: {lean}: cannot open shared object file: No such file or directory)")
            return None
        monitor = config.progress_monitor
        if monitor is not None:
            monitor.phase_start("Building engine", None, len(network._layers))
        cache = config.get_timing_cache()
        for i, layer in enumerate(network._layers):
            op = getattr(layer, "onnx", None)
            if op is not None and op.op_type in opts.no_kernel_for:
                log_error(self._logger, trt, f"[optimizer.cpp::computeCosts::3869] Error Code 10: Internal Error "
                                             f"(Could not find any implementation for node {layer.name}.)")
                return None
            if cache is not None:
                cache.entries.setdefault(layer.name, "tactic-0x1")
            if monitor is not None and not monitor.step_complete("Building engine", i):
                return None
        if monitor is not None:
            monitor.phase_finish("Building engine")
        plan = {
            "version": trt.__version__,
            "model": _with_marked_outputs(network).hex(),
            "inputs": [{"name": t.name, "shape": list(t.shape)} for t in network.inputs],
            "shape_outputs": [t.name for t in network.outputs if t.is_shape_tensor],
            "profiles": [{n: [list(s) for s in r] for n, r in p.shapes.items()} for p in config.profiles],
            "detailed": config.profiling_verbosity == trt.ProfilingVerbosity.DETAILED,
            "strongly_typed": trt.__version__.startswith("11") or bool(
                network.flags & (1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))),
            "version_compatible": trt.BuilderFlag.VERSION_COMPATIBLE in config.flags,
        }
        return FakeHostMemory(PLAN_MAGIC + json.dumps(plan).encode())


def _with_marked_outputs(network: FakeNetwork) -> bytes:
    """The model the engine runs: the parsed one, plus the tensors marked as outputs since."""
    from trtpipe_runner.model.expose import with_outputs

    model = onnx.load_from_string(network.model_bytes)
    declared = {o.name for o in model.graph.output}
    marked = [t.name for t in network.outputs if t.name not in declared]
    return with_outputs(model, marked)[0].SerializeToString() if marked else network.model_bytes


class FakeHostMemory(bytes):
    """IHostMemory: supports the buffer protocol, as the real one does."""

    @property
    def nbytes(self) -> int:
        return len(self)


def read_plan(trt, data: bytes) -> dict | None:
    data = bytes(data)
    if not data.startswith(PLAN_MAGIC):
        return None
    return json.loads(data[len(PLAN_MAGIC):])
