"""Version dispatch: what each TensorRT major allows, and the legacy refusal on 11.x."""
from __future__ import annotations

import importlib.util

import pytest

from trtpipe_runner.backends.tensorrt import backend as backend_mod
from trtpipe_runner.backends.tensorrt.version import (
    check_supported,
    legacy_refusal,
    network_creation_flags,
    parse_version,
)
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import UnsupportedError, UserError

from ... import stage_params
from .fake_tensorrt import FakeTensorRT


@pytest.mark.parametrize("text,expected", [
    ("10.13.0.35", (10, 13, 0)),
    ("11.1.0", (11, 1, 0)),
    ("11.2.0.post1", (11, 2, 0)),
    ("10", (10, 0, 0)),
])
def test_parse_version(text, expected):
    v = parse_version(text)
    assert (v.major, v.minor, v.patch) == expected
    assert str(v) == text


def test_parse_version_rejects_garbage():
    with pytest.raises(UnsupportedError, match="cannot read the TensorRT version"):
        parse_version("unknown")


def test_majors_differ_in_typing():
    ten, eleven = parse_version("10.16.0"), parse_version("11.1.0")
    assert ten.has_weak_typing and not ten.always_strongly_typed
    assert eleven.always_strongly_typed and not eleven.has_weak_typing


@pytest.mark.parametrize("text", ["8.6.1", "9.3.0", "12.0.0"])
def test_unsupported_majors_are_refused(text):
    with pytest.raises(UnsupportedError) as exc:
        check_supported(parse_version(text))
    assert exc.value.code == "TRT_VERSION_UNSUPPORTED"
    assert "10.x and 11.x" in exc.value.message


def test_10x_strongly_typed_sets_the_flag():
    trt = FakeTensorRT("10.13.0.35")
    flags = network_creation_flags(trt, parse_version(trt.__version__))
    assert flags == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) == 2


def test_10x_legacy_builds_weakly_typed():
    trt = FakeTensorRT("10.13.0.35")
    assert network_creation_flags(trt, parse_version(trt.__version__), weak_typing=True) == 0


def test_11x_uses_default_flags():
    # STRONGLY_TYPED is deprecated and ignored on 11.x: the default network is strongly typed.
    trt = FakeTensorRT("11.1.0")
    assert network_creation_flags(trt, parse_version(trt.__version__)) == 0


def test_11x_legacy_is_refused_with_reason_and_remedy():
    trt = FakeTensorRT("11.1.0")
    with pytest.raises(UserError) as exc:
        network_creation_flags(trt, parse_version(trt.__version__), weak_typing=True)
    err = exc.value
    assert err.code == "LEGACY_MODE_UNAVAILABLE"
    assert "TensorRT 11 removed weak typing" in err.message  # why
    assert "Remove `legacy_weak_typing`" in err.message  # what to do
    assert "already strongly typed" in err.message


def test_backend_build_refuses_legacy_on_11x_before_building(monkeypatch, tmp_path):
    trt = FakeTensorRT("11.1.0")
    monkeypatch.setattr(backend_mod, "import_tensorrt", lambda: trt)
    with pytest.raises(UserError) as exc:
        backend_mod.create().build(tmp_path / "model.onnx", tmp_path, stage_params.build(
            "fp16", backend="tensorrt", legacy_weak_typing=True), CancelToken())

    assert exc.value.code == "LEGACY_MODE_UNAVAILABLE"
    assert exc.value.message == legacy_refusal(parse_version("11.1.0")).message


def test_backend_build_refuses_unsupported_version(monkeypatch, tmp_path):
    monkeypatch.setattr(backend_mod, "import_tensorrt", lambda: FakeTensorRT("9.3.0"))
    with pytest.raises(UnsupportedError, match="not supported"):
        backend_mod.create().build(tmp_path / "model.onnx", tmp_path, stage_params.build(backend="tensorrt"), CancelToken())


def test_backend_without_tensorrt_says_not_installed(tmp_path):
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt is installed here")
    with pytest.raises(UnsupportedError, match="tensorrt: not installed"):
        backend_mod.create().build(tmp_path / "model.onnx", tmp_path, stage_params.build(backend="tensorrt"), CancelToken())
