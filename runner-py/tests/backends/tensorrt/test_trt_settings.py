"""Build settings: validation, defaults, TF32 rule, and optimization-profile derivation."""
from __future__ import annotations

import pytest

from trtpipe_runner.backends.tensorrt.profiles import NetworkInput, derive_profile
from trtpipe_runner.backends.tensorrt.settings import parse_settings
from trtpipe_runner.errors import UnsupportedError, UserError

from ... import stage_params


def trt_settings(**params):
    """parse_settings of a TensorRT build's params as the orchestrator sends them, plus `params`."""
    return parse_settings(stage_params.build(backend="tensorrt", **params))


def test_absent_optional_keys_leave_it_to_tensorrt():
    s = trt_settings()
    assert (s.precision, s.workspace_mib, s.optimization_level) == ("fp32", None, None)
    assert s.hardware_compatibility == "none"
    assert not s.version_compatible and not s.legacy_weak_typing and s.timing_cache
    assert s.max_batch == 32


@pytest.mark.parametrize("missing", ["precision", "numerics", "backend"])
def test_a_missing_required_key_is_named_not_guessed(missing):
    params = stage_params.build(backend="tensorrt")
    del params[missing]
    with pytest.raises(UserError) as exc:
        parse_settings(params)
    assert exc.value.code == "PARAM_MISSING" and repr(missing) in exc.value.message


def test_max_batch_is_required():
    params = stage_params.build(backend="tensorrt")
    del params["max_batch"]
    with pytest.raises(UserError, match="max_batch is missing"):
        parse_settings(params)


def test_onnxruntime_keys_from_the_target_are_ignored():
    # The TS side normalizes every target's build block with opt_level/threads.
    s = parse_settings({"backend": "tensorrt", "opt_level": "all", "threads": 0, "precision": "fp16",
                        "numerics": "native", "workspace_mib": 2048, "optimization_level": 5, "max_batch": 8})
    assert (s.precision, s.workspace_mib, s.optimization_level) == ("fp16", 2048, 5)


@pytest.mark.parametrize("params,fragment", [
    ({"precision": "fp64"}, "params.precision: must be one of"),
    ({"workspace_mib": 0}, "params.workspace_mib: must be >= 1"),
    ({"workspace_mib": True}, "params.workspace_mib: must be an integer"),
    ({"optimization_level": 6}, "params.optimization_level: must be >= 0 and <= 5"),
    ({"hardware_compatibility": "turing"}, "params.hardware_compatibility: must be one of none, ampere_plus"),
    ({"version_compatible": "yes"}, "params.version_compatible: must be true or false"),
    ({"numerics": "emulated"}, "for the onnxruntime backend"),
    ({"max_batch": 0}, "params.max_batch: must be >= 1"),
    ({"lock": [{"node": "a"}]}, "params.lock[0]: required key 'resolved' is missing"),
    ({"input_shapes": {"x": {"min": [1, 3], "max": [4]}}}, "same rank"),
    ({"input_shapes": {"x": {"min": [8, 3], "max": [4, 3]}}}, "min <= opt <= max"),
    ({"input_shapes": {"x": {"min": [-1, 3]}}}, "params.input_shapes.x.min[0]: must be >= 0"),
    ({"workspace": 1024}, "params: unknown key 'workspace'"),
])
def test_bad_values_name_the_key(params, fragment):
    with pytest.raises(UserError) as exc:
        trt_settings(**params)
    assert fragment in exc.value.message


def test_tf32_only_where_asked():
    assert not trt_settings(precision="fp32").tf32  # the FP32 reference is IEEE FP32
    assert trt_settings(precision="tf32").tf32
    assert not trt_settings(precision="fp16").tf32  # fp32 islands of an fp16 policy stay IEEE
    assert trt_settings(precision="fp16", lock=[{"node": "a", "resolved": "tf32"}]).tf32


def test_max_batch_from_the_cells_batch():
    params = stage_params.build(backend="tensorrt", batch=64)
    del params["max_batch"]
    assert parse_settings(params).max_batch == 64


def test_partial_ranges_are_completed():
    s = trt_settings(input_shapes={"x": {"min": [1, 3], "max": [16, 3]}, "y": {"opt": [4, 2]}})
    assert (s.input_shapes["x"].min, s.input_shapes["x"].opt, s.input_shapes["x"].max) == ((1, 3), (16, 3), (16, 3))
    assert s.input_shapes["y"].min == s.input_shapes["y"].opt == s.input_shapes["y"].max == (4, 2)


def test_batch_only_dynamic_input_gets_one_to_max_batch():
    entries = derive_profile([NetworkInput("input", (-1, 1, 8, 8))], trt_settings(max_batch=64))
    (e,) = entries
    assert (e.min, e.opt, e.max) == ((1, 1, 8, 8), (64, 1, 8, 8), (64, 1, 8, 8))
    assert e.source == "max_batch 64"


def test_static_inputs_need_no_profile():
    assert derive_profile([NetworkInput("input", (4, 3))], trt_settings()) == []


def test_declared_range_wins_and_is_checked_against_fixed_axes():
    settings = trt_settings(input_shapes={"tokens": {"min": [1, 8], "opt": [4, 64], "max": [8, 128]}})
    (e,) = derive_profile([NetworkInput("tokens", (-1, -1))], settings)
    assert (e.min, e.opt, e.max, e.source) == ((1, 8), (4, 64), (8, 128), "input_shapes")
    bad = trt_settings(input_shapes={"x": {"min": [1, 4], "max": [8, 4]}})
    with pytest.raises(UserError, match="axis 1 is fixed to 3"):
        derive_profile([NetworkInput("x", (-1, 3))], bad)
    with pytest.raises(UserError, match="rank 2, the model's input has rank 3"):
        derive_profile([NetworkInput("x", (-1, 4, 4))], bad)


def test_other_dynamic_axes_need_a_declared_range():
    with pytest.raises(UserError) as exc:
        derive_profile([NetworkInput("tokens", (-1, -1, 64))], trt_settings())
    assert exc.value.code == "SHAPE_RANGE_MISSING" and exc.value.input == "tokens"
    assert "model.inputs.tokens" in exc.value.message


def test_unknown_declared_input_suggests_a_name():
    with pytest.raises(UserError, match="did you mean 'input'"):
        derive_profile([NetworkInput("input", (-1, 3))], trt_settings(input_shapes={"inputs": {"min": [1, 3]}}))


def test_shape_tensor_inputs_are_refused():
    with pytest.raises(UnsupportedError, match="shape tensor"):
        derive_profile([NetworkInput("shape", (2,), is_shape_tensor=True)], trt_settings())
