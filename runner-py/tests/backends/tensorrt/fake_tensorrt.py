"""FakeTensorRT: a small test double of the `tensorrt` module, for machines without it.

TensorRT cannot be installed on CI (no GPU), so the settings mapping, version
dispatch and legacy mode are tested against this double. It has only the
names trtpipe uses, with the 10.x / 11.x differences that matter (11.x has no
precision builder flags and no EXPLICIT_BATCH), and records what the code
under test set. It builds nothing: GPU tests (test_trt_gpu.py) cover the real
thing.
"""
from __future__ import annotations

import types


class FakeEnumMember:
    def __init__(self, enum: str, name: str, value: int):
        self.enum, self.name, self.value = enum, name, value

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"{self.enum}.{self.name}"

    def __hash__(self) -> int:
        return hash((self.enum, self.name))

    def __eq__(self, other) -> bool:
        return isinstance(other, FakeEnumMember) and (self.enum, self.name) == (other.enum, other.name)


def _enum(name: str, members: list[str]) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{m: FakeEnumMember(name, m, i) for i, m in enumerate(members)})


class FakeConfig:
    """Records what create_config / legacy mode set on a builder config."""

    def __init__(self, trt):
        self._trt = trt
        self.flags = {trt.BuilderFlag.TF32}  # TensorRT enables TF32 by default
        self.pool_limits: dict = {}
        self.profiles: list = []
        self.profiling_verbosity = None
        self.builder_optimization_level = 3
        self.hardware_compatibility_level = trt.HardwareCompatibilityLevel.NONE \
            if hasattr(trt, "HardwareCompatibilityLevel") else None

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.flags.discard(flag)

    def get_flag(self, flag) -> bool:
        return flag in self.flags

    def set_memory_pool_limit(self, pool, nbytes):
        self.pool_limits[pool] = nbytes

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)
        return len(self.profiles) - 1


class FakeProfile:
    def __init__(self):
        self.shapes: dict = {}

    def set_shape(self, name, mn, opt, mx):
        self.shapes[name] = (tuple(mn), tuple(opt), tuple(mx))


class FakeBuilder:
    def __init__(self, trt):
        self._trt = trt

    def create_builder_config(self):
        return FakeConfig(self._trt)

    def create_optimization_profile(self):
        return FakeProfile()


class FakeTensor:
    def __init__(self, dtype):
        self.dtype = dtype


class FakeLayer:
    """A network layer: name, metadata and outputs; records precision pins."""

    def __init__(self, name, layer_type, output_dtypes, metadata=""):
        self.name, self.type, self.metadata = name, layer_type, metadata
        self._outputs = [FakeTensor(d) for d in output_dtypes]
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
    def __init__(self, layers):
        self._layers = layers

    @property
    def num_layers(self):
        return len(self._layers)

    def get_layer(self, i):
        return self._layers[i]


def FakeTensorRT(version: str = "10.13.0.35", hardware_levels: bool = True) -> types.SimpleNamespace:
    """A tensorrt-like namespace for `version` ("10.x" or "11.x" shapes)."""
    major = int(version.split(".")[0])
    flags = ["DEBUG", "GPU_FALLBACK", "REFIT", "DISABLE_TIMING_CACHE", "TF32", "SPARSE_WEIGHTS",
             "VERSION_COMPATIBLE", "EXCLUDE_LEAN_RUNTIME", "STRIP_PLAN"]
    if major == 10:
        flags += ["FP16", "BF16", "INT8", "FP8", "OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS"]
    trt = types.SimpleNamespace(__version__=version)
    trt.BuilderFlag = _enum("BuilderFlag", flags)
    trt.NetworkDefinitionCreationFlag = _enum(
        "NetworkDefinitionCreationFlag",
        ["EXPLICIT_BATCH", "STRONGLY_TYPED"] if major == 10 else ["_RESERVED", "STRONGLY_TYPED"])
    trt.MemoryPoolType = _enum("MemoryPoolType", ["WORKSPACE", "DLA_MANAGED_SRAM", "TACTIC_SHARED_MEMORY"])
    trt.ProfilingVerbosity = _enum("ProfilingVerbosity", ["LAYER_NAMES_ONLY", "NONE", "DETAILED"])
    if hardware_levels:
        trt.HardwareCompatibilityLevel = _enum("HardwareCompatibilityLevel",
                                               ["NONE", "AMPERE_PLUS", "SAME_COMPUTE_CAPABILITY"])
    trt.LayerType = _enum("LayerType", ["CONVOLUTION", "ACTIVATION", "CAST", "CONSTANT", "SHAPE", "SOFTMAX",
                                        "MATRIX_MULTIPLY", "QUANTIZE", "DEQUANTIZE"])
    dtypes = _enum("DataType", ["FLOAT", "HALF", "INT8", "INT32", "BOOL", "BF16", "INT64"])
    trt.DataType = dtypes
    trt.float32, trt.float16, trt.int32, trt.int64, trt.bfloat16 = (dtypes.FLOAT, dtypes.HALF, dtypes.INT32,
                                                                    dtypes.INT64, dtypes.BF16)
    trt.Builder = lambda logger=None: FakeBuilder(trt)
    return trt
