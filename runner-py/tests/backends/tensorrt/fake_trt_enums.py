"""The enums of the `tensorrt` Python module with their real values, per major (test double part).

Values from NVIDIA/TensorRT `include/NvInfer.h`, `NvInferRuntime.h`,
`NvInferRuntimeBase.h` and the Python bindings (`python/src/infer/pyCore.cpp`,
`pyGraph.cpp`, `pyFoundationalTypes.cpp`) at tags v10.6.0, v10.9.0 and v11.1.
Members behave like pybind11 enum members: `int()`, `.name`, `.value`,
equality by enum and value, `str()` "Enum.MEMBER".
"""
from __future__ import annotations

import types


class FakeEnumMember:
    def __init__(self, enum: str, name: str, value: int):
        self.enum, self.name, self.value = enum, name, value

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"<{self.enum}.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"{self.enum}.{self.name}"

    def __hash__(self) -> int:
        return hash((self.enum, self.value))

    def __eq__(self, other) -> bool:
        return isinstance(other, FakeEnumMember) and (self.enum, self.value) == (other.enum, other.value)


def enum(name: str, members: dict[str, int]) -> types.SimpleNamespace:
    ns = types.SimpleNamespace(**{m: FakeEnumMember(name, m, v) for m, v in members.items()})
    ns.__members__ = {m: getattr(ns, m) for m in members}
    return ns


BUILDER_FLAG = {
    10: {"FP16": 0, "INT8": 1, "DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5, "TF32": 6,
         "SPARSE_WEIGHTS": 7, "SAFETY_SCOPE": 8, "OBEY_PRECISION_CONSTRAINTS": 9, "PREFER_PRECISION_CONSTRAINTS": 10,
         "DIRECT_IO": 11, "REJECT_EMPTY_ALGORITHMS": 12, "VERSION_COMPATIBLE": 13, "EXCLUDE_LEAN_RUNTIME": 14,
         "FP8": 15, "ERROR_ON_TIMING_CACHE_MISS": 16, "BF16": 17, "DISABLE_COMPILATION_CACHE": 18, "STRIP_PLAN": 19,
         "REFIT_IDENTICAL": 20, "WEIGHT_STREAMING": 21, "INT4": 22, "REFIT_INDIVIDUAL": 23, "STRICT_NANS": 24,
         "MONITOR_MEMORY": 25},
    # 11.x removed the precision flags and renumbered the rest
    11: {"DEBUG": 2, "GPU_FALLBACK": 3, "REFIT": 4, "DISABLE_TIMING_CACHE": 5, "TF32": 6, "SPARSE_WEIGHTS": 7,
         "SAFETY_SCOPE": 8, "DIRECT_IO": 11, "VERSION_COMPATIBLE": 12, "EXCLUDE_LEAN_RUNTIME": 13,
         "ERROR_ON_TIMING_CACHE_MISS": 15, "DISABLE_COMPILATION_CACHE": 17, "STRIP_PLAN": 18, "REFIT_IDENTICAL": 19,
         "WEIGHT_STREAMING": 20, "REFIT_INDIVIDUAL": 22, "STRICT_NANS": 23, "MONITOR_MEMORY": 24,
         "EDITABLE_TIMING_CACHE": 26, "DISTRIBUTIVE_INDEPENDENCE": 27},
}
NETWORK_FLAG = {
    10: {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1},
    11: {"STRONGLY_TYPED": 0, "PREFER_JIT_PYTHON_PLUGINS": 1, "PREFER_AOT_PYTHON_PLUGINS": 2},
}
DATA_TYPE = {
    10: {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3, "BOOL": 4, "UINT8": 5, "FP8": 6, "BF16": 7, "INT64": 8,
         "INT4": 9},
    11: {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3, "BOOL": 4, "UINT8": 5, "FP8": 6, "BF16": 7, "INT64": 8,
         "INT4": 9, "FP4": 10, "E8M0": 11},
}
_LAYER_TYPES_10 = ["CONVOLUTION", "CAST", "ACTIVATION", "POOLING", "LRN", "SCALE", "SOFTMAX", "DECONVOLUTION",
                   "CONCATENATION", "ELEMENTWISE", "PLUGIN", "UNARY", "PADDING", "SHUFFLE", "REDUCE", "TOPK", "GATHER",
                   "MATRIX_MULTIPLY", "RAGGED_SOFTMAX", "CONSTANT", "IDENTITY", "PLUGIN_V2", "SLICE", "SHAPE",
                   "PARAMETRIC_RELU", "RESIZE", "TRIP_LIMIT", "RECURRENCE", "ITERATOR", "LOOP_OUTPUT", "SELECT",
                   "FILL", "QUANTIZE", "DEQUANTIZE", "CONDITION", "CONDITIONAL_INPUT", "CONDITIONAL_OUTPUT",
                   "SCATTER", "EINSUM", "ASSERTION", "ONE_HOT", "NON_ZERO", "GRID_SAMPLE", "NMS", "REVERSE_SEQUENCE",
                   "NORMALIZATION", "PLUGIN_V3"]
_LAYER_TYPES_11 = _LAYER_TYPES_10 + ["SQUEEZE", "UNSQUEEZE", "CUMULATIVE", "DYNAMIC_QUANTIZE", "ATTENTION_INPUT",
                                     "ATTENTION_OUTPUT", "ROTARY_EMBEDDING", "KVCACHE_UPDATE", "MOE", "DIST_COLLECTIVE"]
LAYER_TYPE = {10: {n: i for i, n in enumerate(_LAYER_TYPES_10)}, 11: {n: i for i, n in enumerate(_LAYER_TYPES_11)}}
COMMON = {
    "MemoryPoolType": {"WORKSPACE": 0, "DLA_MANAGED_SRAM": 1, "DLA_LOCAL_DRAM": 2, "DLA_GLOBAL_DRAM": 3,
                       "TACTIC_DRAM": 4, "TACTIC_SHARED_MEMORY": 5},
    "ProfilingVerbosity": {"LAYER_NAMES_ONLY": 0, "NONE": 1, "DETAILED": 2},
    "LayerInformationFormat": {"ONELINE": 0, "JSON": 1},
    "TensorIOMode": {"NONE": 0, "INPUT": 1, "OUTPUT": 2},
    "TensorLocation": {"DEVICE": 0, "HOST": 1},
    "ExecutionContextAllocationStrategy": {"STATIC": 0, "ON_PROFILE_CHANGE": 1, "USER_MANAGED": 2},
}
SEVERITY = {"INTERNAL_ERROR": 0, "ERROR": 1, "WARNING": 2, "INFO": 3, "VERBOSE": 4}


def hardware_levels(minor: int, major: int) -> dict[str, int] | None:
    """HardwareCompatibilityLevel: NONE/AMPERE_PLUS in 10.0-10.8, SAME_COMPUTE_CAPABILITY from 10.9."""
    levels = {"NONE": 0, "AMPERE_PLUS": 1}
    if major > 10 or minor >= 9:
        levels["SAME_COMPUTE_CAPABILITY"] = 2
    return levels


def install(trt, major: int, minor: int) -> None:
    """Puts every enum of this major.minor on the fake module.

    Majors trtpipe refuses (8.x, 9.x, 12.x) get 10.x's tables: tests of the
    refusal only need the version string.
    """
    major = major if major in (10, 11) else 10
    trt.BuilderFlag = enum("BuilderFlag", BUILDER_FLAG[major])
    trt.NetworkDefinitionCreationFlag = enum("NetworkDefinitionCreationFlag", NETWORK_FLAG[major])
    trt.DataType = enum("DataType", DATA_TYPE[major])
    trt.LayerType = enum("LayerType", LAYER_TYPE[major])
    trt.HardwareCompatibilityLevel = enum("HardwareCompatibilityLevel", hardware_levels(minor, major))
    for name, members in COMMON.items():
        setattr(trt, name, enum(name, members))
    d = trt.DataType
    trt.float32, trt.float16, trt.bfloat16, trt.int8, trt.int32, trt.int64, trt.bool, trt.uint8, trt.fp8 = (
        d.FLOAT, d.HALF, d.BF16, d.INT8, d.INT32, d.INT64, d.BOOL, d.UINT8, d.FP8)
