"""The build and session paths end to end against the TensorRT test double (FakeTensorRT), both majors.

The double models the API, not TensorRT's kernels (its docstring says what it
leaves out); these tests hold the backend's calls, their order and its error
handling to the real bindings' contract.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.backends import get_backend
from trtpipe_runner.backends.tensorrt.probe import probe
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import UnsupportedError, UserError
from trtpipe_runner.host_code import engine_host_code
from trtpipe_runner.stages import benchmark_stage, build_stage, evaluate_stage, parse_stage_params
from trtpipe_runner.stages.common import npz_bytes
from trtpipe_runner.stages.context import StageContext

from ... import stage_params
from .fake_tensorrt import install_fake
from .helpers import EXAMPLES, annotated, shape_output_model

VERSIONS = ["10.6.0", "11.1.0"]


@pytest.fixture()
def store(tmp_path):
    return ArtifactStore(tmp_path / "store")


def build(store, tmp_path, model, **params):
    ctx = StageContext(store, CancelToken(), {"model": store.put_bytes(model.SerializeToString())},
                       parse_stage_params("build", stage_params.build(
                           backend="tensorrt", timing_cache_dir="timing", **params)))
    try:
        return build_stage.run(ctx)
    finally:
        ctx.cleanup()


@pytest.mark.parametrize("version", VERSIONS)
def test_build_explain_evaluate_benchmark(monkeypatch, store, tmp_path, version):
    install_fake(monkeypatch, version)
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    out = build(store, tmp_path, model, precision="fp16", max_batch=32)
    d = out.details
    assert d["strongly_typed"] and d["tensorrt_version"] == version
    assert d["explain_summary"]["inspector_form"] == ("11.x" if version.startswith("11") else "10.x")
    assert d["builder_config"]["flags_cleared"] == ["TF32"] and d["builder_config"]["values"]["optimization_profiles"]
    rows = {r["node"]: r for r in d["explain"]}
    compute = [n for n in rows if n.endswith(("/Conv", "/Gemm"))]
    assert len(compute) == 4 and all((rows[n]["realized"], rows[n]["reason"]) == ("fp16", "") for n in compute)
    assert not d["timing_cache"]["reused"]
    assert build(store, tmp_path, model, precision="fp16", max_batch=32).details["timing_cache"]["reused"]

    engine = out.outputs["engine"].sha256
    with np.load(EXAMPLES / "digits" / "eval.npz") as data:
        x = data["input"]
    import onnxruntime as ort

    ref = ort.InferenceSession(str(EXAMPLES / "digits" / "model.onnx")).run(None, {"input": x})[0]
    inputs = {"engine": engine, "eval_data": store.put_bytes(npz_bytes({"input": x})),
              "reference": store.put_bytes(npz_bytes({"probs": ref}))}
    metrics = evaluate_stage.run(StageContext(store, CancelToken(), inputs, parse_stage_params(
        "evaluate", stage_params.evaluate(backend="tensorrt")))).metrics
    assert metrics["cosine"] > 0.999
    bench = benchmark_stage.run(StageContext(store, CancelToken(), {"engine": engine, "eval_data": inputs["eval_data"]},
                                             parse_stage_params("benchmark", stage_params.benchmark(
                                                 backend="tensorrt", batches=[1, 32], warmup=1, iterations=3,
                                                 cuda_graph=True, profile_layers=True))))
    assert bench.metrics["b32.iterations"] == 3 and "graph" in bench.details["timer"]
    assert set(bench.details["layer_times_ms"]["32"]) >= set(compute)


def test_host_located_outputs_get_host_memory(monkeypatch, store, tmp_path):
    install_fake(monkeypatch, "10.6.0")
    out = build(store, tmp_path, shape_output_model(), max_batch=8)
    session = get_backend("tensorrt").load(store.require(out.outputs["engine"].sha256), {})
    try:
        x = np.arange(-12, 12, dtype=np.float32).reshape(6, 4)
        got = session.run({"x": x})
        assert np.array_equal(got["y"], np.maximum(x, 0)) and got["s"].tolist() == [6, 4]
    finally:
        session.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_builder_resource_names_the_library(monkeypatch, tmp_path, version):
    lib = f"libnvinfer_builder_resource_sm90.so.{version}"
    trt = install_fake(monkeypatch, version, missing_libraries={lib})
    status = probe(import_trt=lambda: trt, driver_check=lambda: "")
    assert not status["available"] and f"the TensorRT library {lib} is missing" in status["reason"]
    assert "no usable GPU" not in status["reason"]
    model, _ = annotated("digits", {"default": "fp16"})
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedError) as exc:
        get_backend("tensorrt").build(path, tmp_path, stage_params.build("fp16", backend="tensorrt"), CancelToken())
    assert exc.value.code == "TRT_LIBRARY_MISSING" and lib in exc.value.message


def test_no_gpu_at_build_and_at_load(monkeypatch, store, tmp_path):
    install_fake(monkeypatch, "10.6.0")
    model, _ = annotated("digits", {"default": "fp16"})
    engine = store.require(build(store, tmp_path, model, precision="fp16").outputs["engine"].sha256)
    trt = install_fake(monkeypatch, "10.6.0", gpu=False)
    assert "CUDA initialization failure with error: 35" in probe(import_trt=lambda: trt,
                                                                 driver_check=lambda: "")["reason"]
    # trt.Runtime(logger) raises TypeError on a bad GPU rather than returning None
    with pytest.raises(UnsupportedError) as exc:
        get_backend("tensorrt").load(engine, {})
    assert exc.value.code == "TRT_NO_GPU" and "could not create a Runtime" in exc.value.message


def test_version_compatible_without_lean_runtime(monkeypatch, store, tmp_path):
    install_fake(monkeypatch, "10.6.0", missing_libraries={"libnvinfer_lean.so.10"})
    model, _ = annotated("digits", {"default": "fp16"})
    with pytest.raises(UnsupportedError) as exc, engine_host_code(True):
        build(store, tmp_path, model, precision="fp16", version_compatible=True)
    assert exc.value.code == "TRT_LIBRARY_MISSING" and "libnvinfer_lean.so.10" in exc.value.message


def test_version_compatible_engine_is_built_serialized(monkeypatch, store, tmp_path):
    """TensorRT refuses to build a version-compatible engine directly (build_engine_with_config):
    such a build goes through build_serialized_network and loads its plan for the inspector."""
    install_fake(monkeypatch, "10.6.0")
    model, _ = annotated("digits", {"default": "fp16"})
    with engine_host_code(True):
        out = build(store, tmp_path, model, precision="fp16", version_compatible=True)
    assert "VERSION_COMPATIBLE" in out.details["builder_config"]["flags_set"] and out.details["explain_summary"]


def test_unreadable_timing_cache_stays_out_of_a_later_build_error(monkeypatch, store, tmp_path):
    install_fake(monkeypatch, "10.6.0", no_kernel_for={"Softmax"})
    model, _ = annotated("digits", {"default": "fp16"})
    from trtpipe_runner.backends.tensorrt import timing_cache

    folder = tmp_path / "timing"
    folder.mkdir()
    monkeypatch.setattr(timing_cache.TimingCacheStore, "load", lambda self, identity: b"not a timing cache")
    with pytest.raises(UserError) as exc:
        build(store, tmp_path, model, precision="fp16")
    assert exc.value.code == "TRT_BUILD_FAILED" and exc.value.node == "/Softmax"
    assert "timing cache" not in exc.value.message and "Could not find any implementation" in exc.value.message


def test_parser_error_names_the_node(monkeypatch, store, tmp_path):
    install_fake(monkeypatch, "11.1.0", parser_rejects={"Softmax"})
    model, _ = annotated("digits", {"default": "fp16"})
    with pytest.raises(UserError) as exc:
        build(store, tmp_path, model, precision="fp16")
    assert exc.value.code == "TRT_PARSE_FAILED" and exc.value.node == "/Softmax"


def test_build_explains_once_and_times_its_phases(monkeypatch, store, tmp_path):
    """The build stage takes explain's rows from the build (which just read the inspector JSON)
    instead of loading the model and the engine again; they are what explain on the stored engine says."""
    from trtpipe_runner.backends.tensorrt.backend import TensorRTBackend

    install_fake(monkeypatch, "10.6.0")
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    explain = TensorRTBackend.explain

    def no_second_explain(*args, **kwargs):
        raise AssertionError("the build stage explained the engine a second time")

    monkeypatch.setattr(TensorRTBackend, "explain", no_second_explain)
    out = build(store, tmp_path, model, precision="fp16", max_batch=32)
    assert not out.diagnostics
    engine = store.require(out.outputs["engine"].sha256)
    model_path = tmp_path / "annotated.onnx"
    onnx.save(model, model_path)
    again = explain(TensorRTBackend(), model_path, engine, {})
    assert out.details["explain"] == [{"node": r.node, "realized": r.realized, "reason": r.reason,
                                       "detail": r.detail} for r in again]
    phases = {k for k in out.metrics if k.endswith("_seconds")}
    assert phases == {"prepare_seconds", "builder_seconds", "parse_seconds", "configure_seconds", "build_seconds",
                      "cache_save_seconds", "load_engine_seconds", "inspect_seconds", "package_seconds",
                      "explain_seconds"}


def test_build_inspects_its_own_engine_and_keeps_an_unchanged_timing_cache(monkeypatch, store, tmp_path):
    """The engine the builder returns feeds the inspector (the plan is not loaded a second time), and a
    warm build that timed nothing new leaves the timing cache file as it was."""
    from trtpipe_runner.backends.tensorrt import timing_cache

    from .fake_trt_runtime import FakeRuntime

    install_fake(monkeypatch, "10.6.0")
    model, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    saved: list[bytes] = []
    save = timing_cache.TimingCacheStore.save
    monkeypatch.setattr(timing_cache.TimingCacheStore, "save",
                        lambda self, identity, data: saved.append(data) or save(self, identity, data))

    def no_load(self, data):
        raise AssertionError("the build deserialized the plan it had just built")

    monkeypatch.setattr(FakeRuntime, "deserialize_cuda_engine", no_load)
    first = build(store, tmp_path, model, precision="fp16")
    second = build(store, tmp_path, model, precision="fp16")
    assert first.details["timing_cache"]["reused"] is False and second.details["timing_cache"]["reused"] is True
    assert len(saved) == 1 and second.details["explain_summary"] == first.details["explain_summary"]
