"""Availability probe (why TensorRT is missing) and error mapping of the build steps."""
from __future__ import annotations

import importlib.util
import types

import pytest

from trtpipe_runner.backends.tensorrt.cuda_api import get_cuda_api
from trtpipe_runner.backends.tensorrt.loader import ParserProblem, build_error, network_from_onnx, parser_error
from trtpipe_runner.backends.tensorrt.probe import probe
from trtpipe_runner.capabilities import GpuInfo, probe_tensorrt
from trtpipe_runner.errors import UnsupportedError, UserError

from .fake_tensorrt import FakeTensorRT


def gpu(cc: str, name="NVIDIA L4"):
    return lambda: [GpuInfo(0, name, cc, 24 << 30, "570.86.15")]


def no_trt():
    raise ImportError("No module named 'tensorrt'")


def test_not_installed():
    assert probe(import_trt=no_trt) == {"available": False, "version": "", "reason": "tensorrt: not installed",
                                        "precisions": []}


def test_no_cuda_driver():
    out = probe(import_trt=lambda: FakeTensorRT("10.13.0.35"), driver_check=lambda: "libcuda.so.1 cannot be loaded")
    assert not out["available"] and out["version"] == "10.13.0.35"
    assert out["reason"] == "tensorrt 10.13.0.35: no CUDA driver: libcuda.so.1 cannot be loaded"


def fake_with_logger(version):
    trt = FakeTensorRT(version)
    trt.Logger = lambda level=None: object()
    trt.Logger.ERROR = 0
    return trt


def test_builder_failure_is_reported():
    # What `trt.Builder(logger)` raises when CUDA cannot initialize (NVIDIA/TensorRT#2913).
    trt = fake_with_logger("11.1.0")

    def builder(logger):
        raise TypeError("pybind11::init(): factory function returned nullptr")

    trt.Builder = builder
    out = probe(import_trt=lambda: trt, driver_check=lambda: "")
    assert not out["available"]
    assert "could not create a Builder: no usable GPU or CUDA driver" in out["reason"]


@pytest.mark.parametrize("visible", ["", "-1", " -1,0"])
def test_hidden_gpus_never_reach_the_builder(monkeypatch, visible):
    # A runner started with its GPUs hidden (bench/scale's CPU runners) must answer without TensorRT's
    # native code: a Builder without a device is at best an error and at worst a crash of the runner.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    trt = fake_with_logger("10.6.0")

    def builder(logger):
        raise AssertionError("the probe created a Builder with every GPU hidden")

    trt.Builder = builder
    out = probe(gpus=lambda: [], import_trt=lambda: trt, driver_check=lambda: "")
    assert out == {"available": False, "version": "10.6.0", "precisions": [],
                   "reason": f"tensorrt 10.6.0: no GPU visible to this runner (CUDA_VISIBLE_DEVICES={visible!r})"}


def test_visible_gpus_still_build(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert probe(gpus=gpu("9.0"), import_trt=lambda: fake_with_logger("10.6.0"), driver_check=lambda: "")["available"]


def test_precisions_follow_compute_capability():
    out = probe(gpus=gpu("8.9"), import_trt=lambda: fake_with_logger("10.13.0.35"), driver_check=lambda: "")
    assert out["available"] and out["precisions"] == ["fp32", "tf32", "fp16", "bf16", "int8", "fp8"]
    out = probe(gpus=gpu("7.5", "Tesla T4"), import_trt=lambda: fake_with_logger("11.1.0"), driver_check=lambda: "")
    assert out["available"] and out["precisions"] == ["fp32", "fp16", "int8"]


def test_gpu_too_old_and_version_unsupported():
    out = probe(gpus=gpu("6.1", "Tesla P4"), import_trt=lambda: fake_with_logger("10.13.0.35"),
                driver_check=lambda: "")
    assert not out["available"] and "compute capability 6.1" in out["reason"]
    out = probe(import_trt=lambda: fake_with_logger("8.6.1"), driver_check=lambda: "")
    assert not out["available"] and "supports 10.x and 11.x" in out["reason"]


def test_capabilities_on_this_machine():
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("tensorrt is installed here")
    info = probe_tensorrt()
    assert (info.name, info.available, info.reason) == ("tensorrt", False, "tensorrt: not installed")


def test_parser_error_names_the_node():
    err = parser_error([ParserProblem("Assertion failed: axis in range", "INVALID_NODE", 3, "", "Softmax"),
                        ParserProblem("unsupported datatype", "UNSUPPORTED_NODE", -1, "/fc/Gemm", "Gemm")],
                       ["a", "b", "c", "/Softmax"], "10.13.0.35")

    assert err.code == "TRT_PARSE_FAILED" and err.node == "/Softmax"
    assert "node '/Softmax' (Softmax): Assertion failed: axis in range [INVALID_NODE]" in err.message
    assert "node '/fc/Gemm' (Gemm): unsupported datatype" in err.message


def test_network_from_onnx_maps_parser_errors(tmp_path):
    trt = FakeTensorRT("10.13.0.35")

    class Err:
        def desc(self):
            return "No importer registered for op: FancyOp"

        def code(self):
            return "ErrorCode.UNSUPPORTED_NODE"

        def node(self):
            return 1

    class Parser:
        num_errors = 1

        def __init__(self, network, logger):
            pass

        def parse_from_file(self, path):
            return False

        def get_error(self, i):
            return Err()

    trt.OnnxParser = Parser
    builder = types.SimpleNamespace(create_network=lambda flags: object())
    with pytest.raises(UserError) as exc:
        network_from_onnx(trt, builder, None, tmp_path / "m.onnx", 2, ["/a", "/fancy/FancyOp"], "10.13.0.35")
    assert exc.value.node == "/fancy/FancyOp"
    assert "node '/fancy/FancyOp': No importer registered for op: FancyOp [UNSUPPORTED_NODE]" in exc.value.message


def test_build_error_names_the_region():
    err = build_error(["[optimizer.cpp::computeCosts::3869] Error Code 10: Internal Error (Could not find any "
                       "implementation for node {ForeignNode[/blk/attn/MatMul.../blk/attn/Add]}.)"])
    assert err.code == "TRT_BUILD_FAILED" and err.node == "/blk/attn/MatMul"
    assert "raise workspace_mib" in err.message
    assert build_error([]).message.startswith("TensorRT could not build the engine: the builder returned no engine")


def test_cuda_api_choice_is_validated(monkeypatch):
    monkeypatch.setenv("TRTPIPE_CUDA_API", "pycuda")
    with pytest.raises(UnsupportedError, match="must be 'torch' or 'cuda-python'"):
        get_cuda_api()


def test_cuda_api_missing_says_what_to_install(monkeypatch):
    if importlib.util.find_spec("cuda") is not None or importlib.util.find_spec("torch") is not None:
        pytest.skip("cuda-python or torch is installed here")
    monkeypatch.delenv("TRTPIPE_CUDA_API", raising=False)
    with pytest.raises(UnsupportedError) as exc:
        get_cuda_api()
    assert exc.value.code == "CUDA_API_MISSING" and "pip install cuda-python" in exc.value.message
