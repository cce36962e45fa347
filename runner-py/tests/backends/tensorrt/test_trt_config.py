"""Settings -> builder config, against FakeTensorRT (the tensorrt test double) for 10.x and 11.x."""
from __future__ import annotations

import pytest

from trtpipe_runner.backends.tensorrt.config import ConfigReport, create_config
from trtpipe_runner.backends.tensorrt.legacy import apply_weak_typing, precision_flags
from trtpipe_runner.backends.tensorrt.profiles import NetworkInput, ProfileEntry, derive_profile
from trtpipe_runner.backends.tensorrt.settings import parse_settings
from trtpipe_runner.backends.tensorrt.version import parse_version
from trtpipe_runner.errors import UnsupportedError, UserError

from ... import stage_params
from .fake_tensorrt import FakeLayer, FakeNetwork, FakeTensorRT


def build_config(version: str, params: dict, inputs=None):
    trt = FakeTensorRT(version)
    settings = parse_settings(stage_params.build(backend="tensorrt", **params))
    profile = derive_profile(inputs or [NetworkInput("input", (-1, 1, 8, 8))], settings)
    config, report = create_config(trt, trt.Builder(trt.Logger()), settings, parse_version(version), profile)
    return trt, config, report


@pytest.mark.parametrize("version", ["10.13.0.35", "11.1.0"])
def test_full_mapping(version):  # noqa: D103
    trt, config, report = build_config(version, {
        "precision": "fp16", "workspace_mib": 1024, "optimization_level": 5,
        "hardware_compatibility": "ampere_plus", "version_compatible": True, "max_batch": 16})
    assert config.pool_limits == {trt.MemoryPoolType.WORKSPACE: 1024 * 1024 * 1024}
    assert config.builder_optimization_level == 5
    assert config.hardware_compatibility_level == trt.HardwareCompatibilityLevel.AMPERE_PLUS
    assert trt.BuilderFlag.VERSION_COMPATIBLE in config.flags
    assert config.profiling_verbosity == trt.ProfilingVerbosity.DETAILED
    (profile,) = config.profiles
    assert profile.shapes == {"input": ((1, 1, 8, 8), (16, 1, 8, 8), (16, 1, 8, 8))}
    assert report.to_json()["flags_set"] == ["VERSION_COMPATIBLE"]
    assert report.values["hardware_compatibility_level"] == "AMPERE_PLUS"


@pytest.mark.parametrize("version", ["10.13.0.35", "11.1.0"])
def test_tf32_off_for_fp32_on_for_tf32(version):
    trt, config, report = build_config(version, {"precision": "fp32"})
    assert trt.BuilderFlag.TF32 not in config.flags and "TF32" in report.flags_cleared
    trt, config, report = build_config(version, {"precision": "tf32"})
    assert trt.BuilderFlag.TF32 in config.flags and "TF32" in report.flags_set


def test_no_precision_flags_on_strongly_typed_builds():
    # Precision comes from the graph; setting FP16 on a strongly typed 10.x network is an error.
    trt, config, _ = build_config("10.13.0.35", {"precision": "fp16"})
    assert trt.BuilderFlag.FP16 not in config.flags and trt.BuilderFlag.INT8 not in config.flags


def test_defaults_leave_tensorrt_defaults_alone():
    trt, config, report = build_config("11.1.0", {}, inputs=[NetworkInput("input", (4, 3))])
    assert config.pool_limits == {} and config.builder_optimization_level == 3
    assert config.hardware_compatibility_level == trt.HardwareCompatibilityLevel.NONE
    assert config.profiles == [] and "optimization_profiles" not in report.values


def test_missing_hardware_level_is_a_clear_error():
    # SAME_COMPUTE_CAPABILITY exists from 10.9 on; 10.0-10.8 have NONE and AMPERE_PLUS only
    with pytest.raises(UnsupportedError, match="hardware_compatibility 'same_compute_capability' is not available"):
        build_config("10.6.0", {"hardware_compatibility": "same_compute_capability"})
    trt, config, _ = build_config("10.6.0", {"hardware_compatibility": "ampere_plus"})
    assert int(config.hardware_compatibility_level) == 1
    trt, config, _ = build_config("10.9.0", {"hardware_compatibility": "same_compute_capability"})
    assert int(config.hardware_compatibility_level) == 2


def test_enum_values_are_the_real_ones():
    ten, eleven = FakeTensorRT("10.6.0"), FakeTensorRT("11.1.0")
    assert int(ten.NetworkDefinitionCreationFlag.STRONGLY_TYPED) == 1
    assert int(eleven.NetworkDefinitionCreationFlag.STRONGLY_TYPED) == 0
    assert int(eleven.NetworkDefinitionCreationFlag.PREFER_JIT_PYTHON_PLUGINS) == 1
    assert int(ten.BuilderFlag.TF32) == int(eleven.BuilderFlag.TF32) == 6
    assert (int(ten.BuilderFlag.VERSION_COMPATIBLE), int(eleven.BuilderFlag.VERSION_COMPATIBLE)) == (13, 12)
    assert not hasattr(eleven.BuilderFlag, "FP16") and int(ten.BuilderFlag.BF16) == 17


def test_rejected_profile_is_a_clear_error():
    """add_optimization_profile returns -1 for a profile TensorRT rejects; the build stops there."""
    trt = FakeTensorRT("10.6.0")
    bad = [ProfileEntry("input", (4, 1, 8, 8), (2, 1, 8, 8), (8, 1, 8, 8), "input_shapes")]
    with pytest.raises(UserError) as exc:
        settings = parse_settings(stage_params.build(backend="tensorrt"))
        create_config(trt, trt.Builder(trt.Logger()), settings, parse_version("10.6.0"), bad)
    assert exc.value.code == "TRT_PROFILE_INVALID" and exc.value.input == "input"
    assert "input: min [4, 1, 8, 8], opt [2, 1, 8, 8], max [8, 1, 8, 8]" in exc.value.message


def test_legacy_flags_follow_the_intents():
    assert precision_flags({"a": "fp16", "b": "fp32"}, "fp16", has_qdq=False) == ["FP16"]
    assert precision_flags({"a": "bf16"}, "fp32", has_qdq=False) == ["BF16"]
    assert precision_flags({"a": "int8", "b": "fp16"}, "int8", has_qdq=True) == ["FP16", "INT8"]
    with pytest.raises(UserError, match="needs Q/DQ nodes") as exc:
        precision_flags({"a": "int8"}, "int8", has_qdq=False)
    assert exc.value.code == "LEGACY_INT8_NEEDS_QDQ"


def test_legacy_pins_layers_and_obeys_constraints():
    trt = FakeTensorRT("10.13.0.35")
    conv = FakeLayer("/conv/Conv", trt.LayerType.CONVOLUTION, [("c", trt.float32)], "[ONNX Layer: /conv/Conv]")
    soft = FakeLayer("/Softmax", trt.LayerType.SOFTMAX, [("s", trt.float32)], "[ONNX Layer: /Softmax]")
    cast = FakeLayer("trtpipe/cast/x/to_fp16", trt.LayerType.CAST, [("x__fp16", trt.float16)])
    shape = FakeLayer("/Shape", trt.LayerType.SHAPE, [("shape", trt.int64)], "[ONNX Layer: /Shape]")
    renamed = FakeLayer("conv2 renamed", trt.LayerType.CONVOLUTION, [("c2", trt.float32)],
                        "[ONNX Layer: /conv2/Conv]\x1f[ONNX Layer: /relu2/Relu]")
    network = FakeNetwork([conv, soft, cast, shape, renamed])
    intents = {"/conv/Conv": "fp16", "/Softmax": "fp32", "trtpipe/cast/x/to_fp16": "fp16", "/Shape": "-",
               "/conv2/Conv": "fp16"}
    config = trt.Builder(trt.Logger()).create_builder_config()
    report = ConfigReport()
    out = apply_weak_typing(trt, network, config, intents, "fp16", has_qdq=False, report=report)
    assert conv.precision == trt.float16 and conv.output_types == {0: trt.float16}
    assert soft.precision == trt.float32 and soft.output_types == {0: trt.float32}
    assert renamed.precision == trt.float16  # matched through metadata, not the name
    assert cast.precision is None and shape.precision is None
    assert {trt.BuilderFlag.FP16, trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS} <= config.flags
    assert out.to_json() == {"flags": ["FP16", "OBEY_PRECISION_CONSTRAINTS"], "layers_pinned": 3,
                             "layers_skipped": 1}

    assert "OBEY_PRECISION_CONSTRAINTS" in report.flags_set
