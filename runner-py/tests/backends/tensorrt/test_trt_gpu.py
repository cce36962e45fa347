"""GPU tests: real TensorRT builds of the example models through the runner's stages.

Marked `gpu` (deselected by default); run on a host with an NVIDIA GPU and
TensorRT 10.x or 11.x plus cuda-python or CUDA PyTorch:

    .venv/bin/python -m pytest runner-py/tests/backends/tensorrt -m gpu -v

Each test skips with the reason when TensorRT, the GPU or a CUDA library is
missing. Accuracy is checked against ONNX Runtime's FP32 run of the original
model, as the evaluate stage does for every backend.
"""
from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import UnsupportedError, UserError
from trtpipe_runner.host_code import engine_host_code
from trtpipe_runner.stages import (
    benchmark_stage,
    build_stage,
    calibrate_stage,
    evaluate_stage,
    parse_stage_params,
    transform_stage,
)
from trtpipe_runner.stages.common import npz_bytes
from trtpipe_runner.stages.context import StageContext

from ... import stage_params
from .helpers import EXAMPLES, annotated, shape_output_model

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="session")
def trt():
    """The tensorrt module, or a skip that says what is missing."""
    from trtpipe_runner.backends.tensorrt.cuda_api import get_cuda_api
    from trtpipe_runner.backends.tensorrt.probe import probe
    from trtpipe_runner.capabilities import probe_gpus

    status = probe(gpus=probe_gpus)
    if not status["available"]:
        pytest.skip(f"TensorRT unusable here: {status['reason']}")
    try:
        get_cuda_api()
    except UnsupportedError as exc:
        pytest.skip(str(exc))
    import tensorrt

    return tensorrt


@pytest.fixture()
def store(tmp_path):
    return ArtifactStore(tmp_path / "store")


def put_model(store, model) -> str:
    return store.put_bytes(model.SerializeToString())


def put_copy(store, path, tmp_path) -> str:
    copy = tmp_path / f"copy-{path.name}"
    shutil.copy(path, copy)
    return store.put_file(copy)


def reference(example: str) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(EXAMPLES / example / "model.onnx"), providers=["CPUExecutionProvider"])
    with np.load(EXAMPLES / example / "eval.npz") as data:
        x = data["input"]
    return {o.name: sess.run([o.name], {"input": x})[0] for o in sess.get_outputs()}


def run_build(store, tmp_path, model, params):
    ctx = StageContext(store, CancelToken(), {"model": put_model(store, model)},
                       parse_stage_params("build", stage_params.build(
                           backend="tensorrt", timing_cache_dir="timing", **params)))
    try:
        return build_stage.run(ctx)
    finally:
        ctx.cleanup()


def run_evaluate(store, tmp_path, engine_sha, example):
    inputs = {"engine": engine_sha, "eval_data": put_copy(store, EXAMPLES / example / "eval.npz", tmp_path),
              "reference": store.put_bytes(npz_bytes(reference(example)))}
    ctx = StageContext(store, CancelToken(), inputs, parse_stage_params("evaluate", stage_params.evaluate(
        backend="tensorrt", eval_data={"labels": "labels"})))
    return evaluate_stage.run(ctx)


def explain_rows(out) -> dict[str, dict]:
    return {r["node"]: r for r in out.details["explain"]}


def trtpipe_int8(store, tmp_path, example: str):
    """The example quantized by trtpipe's own precision engine: calibrate (entropy) -> transform (Q/DQ).

    Returns (annotated model, lock rows).
    """
    model = put_copy(store, EXAMPLES / example / "model.onnx", tmp_path)
    calib = put_copy(store, EXAMPLES / example / "calib.npz", tmp_path)
    ctx = StageContext(store, CancelToken(), {"model": model, "calib_data": calib},
                       parse_stage_params("calibrate", stage_params.calibrate()))
    scales = calibrate_stage.run(ctx).outputs["scales"].sha256
    ctx = StageContext(store, CancelToken(), {"model": model, "scales": scales},
                       parse_stage_params("transform", stage_params.transform("int8")))
    out = transform_stage.run(ctx)
    return onnx.load(str(store.require(out.outputs["model"].sha256))), out.details["lock"]


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_digits_build_explain_evaluate(trt, store, tmp_path, precision):
    model, _ = annotated("digits", {"default": precision, "io": "keep"})
    out = run_build(store, tmp_path, model, {"precision": precision, "max_batch": 32})
    d = out.details
    assert d["strongly_typed"] and d["tensorrt_version"] == trt.__version__
    assert d["profiles"] == [{"input": {"min": [1, 1, 8, 8], "opt": [32, 1, 8, 8], "max": [32, 1, 8, 8],
                                        "source": "max_batch 32"}}]
    # TF32 is off unless the policy asks for tf32 (docs/decisions.md): fp32 cells are the IEEE
    # reference, and nodes an fp16 policy keeps in fp32 were kept for accuracy.
    assert "TF32" in d["builder_config"]["flags_cleared"] and "TF32" not in d["builder_config"]["flags_set"]
    rows = explain_rows(out)
    compute = [n for n in rows if n.endswith(("/Conv", "/Gemm"))]
    assert len(compute) == 4
    for node in compute:
        assert rows[node]["realized"] == precision, rows[node]
        assert rows[node]["reason"] == "", rows[node]
    assert "EXPLAIN_FAILED" not in str(out.diagnostics)
    metrics = run_evaluate(store, tmp_path, out.outputs["engine"].sha256, "digits").metrics
    if precision == "fp32":
        assert metrics["max_abs"] < 1e-4  # TF32 is off: IEEE FP32 like the reference
    assert metrics["top1_agreement"] >= 0.99 and metrics["cosine"] > 0.999


def test_digits_int8_from_qdq(trt, store, tmp_path):
    model, lock = trtpipe_int8(store, tmp_path, "digits")
    out = run_build(store, tmp_path, model, {"precision": "int8", "max_batch": 32, "lock": lock})
    assert out.details["lock_used"]
    rows = explain_rows(out)
    quantized = [r["node"] for r in lock if r["resolved"] == "int8"]
    assert len(quantized) == 4  # conv1, conv2, fc1, fc2
    for node in quantized:
        assert (rows[node]["realized"], rows[node]["reason"]) == ("int8", ""), rows[node]
    metrics = run_evaluate(store, tmp_path, out.outputs["engine"].sha256, "digits").metrics
    assert metrics["top1_agreement"] >= 0.95


def test_transformer_fp16_myelin_maps_back(trt, store, tmp_path):
    model, _ = annotated("transformer", {"default": "fp16", "io": "keep",
                                         "rules": [{"match": {"op": ["LayerNormalization", "Softmax"]},
                                                    "use": "fp32"}]})
    out = run_build(store, tmp_path, model, {"precision": "fp16", "max_batch": 32})
    rows = explain_rows(out)
    matmuls = [n for n in rows if n.endswith("MatMul")]
    assert matmuls and not any(rows[n]["reason"] == "NOT_IN_ENGINE" for n in matmuls)
    summary = out.details["explain_summary"]
    assert summary["inspector_form"] == ("11.x" if int(trt.__version__.split(".")[0]) >= 11 else "10.x")
    metrics = run_evaluate(store, tmp_path, out.outputs["engine"].sha256, "transformer").metrics
    assert metrics["cosine"] > 0.99


def test_timing_cache_is_reused(trt, store, tmp_path):
    model, _ = annotated("digits", {"default": "fp16"})
    first = run_build(store, tmp_path, model, {"precision": "fp16"}).details["timing_cache"]
    second = run_build(store, tmp_path, model, {"precision": "fp16"}).details["timing_cache"]
    assert first["enabled"] and not first["reused"]
    assert second["reused"] and second["path"] == first["path"] and second["key"] == first["key"]


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_benchmark_with_cuda_events(trt, store, tmp_path, cuda_graph):
    model, _ = annotated("digits", {"default": "fp16"})
    engine = run_build(store, tmp_path, model, {"precision": "fp16", "max_batch": 32}).outputs["engine"].sha256
    inputs = {"engine": engine, "eval_data": put_copy(store, EXAMPLES / "digits" / "eval.npz", tmp_path)}
    ctx = StageContext(store, CancelToken(), inputs, parse_stage_params("benchmark", stage_params.benchmark(
        backend="tensorrt", batches=[1, 32], warmup=5, iterations=50, cuda_graph=cuda_graph, profile_layers=True)))
    out = benchmark_stage.run(ctx)
    assert out.details["timer"].startswith("CUDA events")
    assert ("graph" in out.details["timer"]) == cuda_graph
    for b in (1, 32):
        assert out.metrics[f"b{b}.iterations"] == 50 and 0 < out.metrics[f"b{b}.latency_p50_ms"] < 100
    layers = out.details["layer_times_ms"]["32"]
    assert layers and all(v >= 0 for v in layers.values())


def test_batch_outside_the_profile_is_a_user_error(trt, store, tmp_path):
    from trtpipe_runner.backends import get_backend

    model, _ = annotated("digits", {"default": "fp32"})
    engine = store.require(run_build(store, tmp_path, model, {"precision": "fp32", "max_batch": 8})
                           .outputs["engine"].sha256)
    session = get_backend("tensorrt").load(engine, {})
    try:
        assert session.inputs()[0].shape == ("?", 1, 8, 8)
        with pytest.raises(UserError) as exc:
            session.run({"input": np.zeros((9, 1, 8, 8), np.float32)})
        assert exc.value.code == "SHAPE_OUTSIDE_PROFILE"
    finally:
        session.close()


def test_legacy_mode_per_major(trt, store, tmp_path):
    model, _ = annotated("digits", {"default": "fp16"})
    params = {"precision": "fp16", "legacy_weak_typing": True}
    if int(trt.__version__.split(".")[0]) >= 11:
        with pytest.raises(UserError) as exc:
            run_build(store, tmp_path, model, params)
        assert exc.value.code == "LEGACY_MODE_UNAVAILABLE"
        return
    out = run_build(store, tmp_path, model, params)
    assert not out.details["strongly_typed"]
    assert {"FP16", "OBEY_PRECISION_CONSTRAINTS"} <= set(out.details["legacy"]["flags"])
    assert out.details["legacy"]["layers_pinned"] > 0
    assert all(r["realized"] in ("fp16", "-", "?") or r["reason"] for r in out.details["explain"])


def test_portable_engine_settings(trt, store, tmp_path):
    from trtpipe_runner.backends.tensorrt.cuda_api import get_cuda_api

    _, cc, _ = get_cuda_api().device()
    if cc < (8, 0):
        pytest.skip("hardware_compatibility ampere_plus needs an Ampere or newer GPU")
    model, _ = annotated("digits", {"default": "fp16"})
    out = run_build(store, tmp_path, model, {"precision": "fp16", "hardware_compatibility": "ampere_plus",
                                             "workspace_mib": 512, "optimization_level": 2})
    values = out.details["builder_config"]["values"]
    assert values["hardware_compatibility_level"] == "AMPERE_PLUS" and values["builder_optimization_level"] == 2
    assert run_evaluate(store, tmp_path, out.outputs["engine"].sha256, "digits").metrics["top1_agreement"] >= 0.99


def test_version_compatible_engine(trt, store, tmp_path):
    model, _ = annotated("digits", {"default": "fp16"})
    with pytest.raises(UserError) as refused:  # without serve --allow-engine-host-code
        run_build(store, tmp_path, model, {"precision": "fp16", "version_compatible": True})
    assert refused.value.code == "HOST_CODE_REFUSED"
    with engine_host_code(True):
        try:
            out = run_build(store, tmp_path, model, {"precision": "fp16", "version_compatible": True})
        except UserError as exc:  # TRT_LIBRARY_MISSING names it; older wording may only mention it
            if "libnvinfer_lean" in exc.message:
                pytest.skip(f"version-compatible builds need TensorRT's lean runtime, missing here: {exc.message}")
            raise
        assert "VERSION_COMPATIBLE" in out.details["builder_config"]["flags_set"]
        assert run_evaluate(store, tmp_path, out.outputs["engine"].sha256, "digits").metrics["top1_agreement"] >= 0.99


def test_shape_tensor_output_lives_on_the_host(trt, store, tmp_path):
    from trtpipe_runner.backends import get_backend

    engine = store.require(run_build(store, tmp_path, shape_output_model(), {"max_batch": 8})
                           .outputs["engine"].sha256)
    session = get_backend("tensorrt").load(engine, {})
    try:
        x = np.arange(-12, 12, dtype=np.float32).reshape(6, 4)
        got = session.run({"x": x})
        assert np.array_equal(got["y"], np.maximum(x, 0)) and got["s"].tolist() == [6, 4]
    finally:
        session.close()
