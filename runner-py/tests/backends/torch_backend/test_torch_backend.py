"""The torch backend behind the Backend interface and inside the stages (device: cpu here)."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's tests need it")

from trtpipe_runner.artifacts import ArtifactStore  # noqa: E402
from trtpipe_runner.backends import get_backend  # noqa: E402
from trtpipe_runner.backends.torch.backend import RECORD_KEY, read_record  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.errors import UnsupportedError, UserError  # noqa: E402
from trtpipe_runner.run_stage import put_copy, run_stage  # noqa: E402
from trtpipe_runner.timing.loop import TimingPolicy, measure  # noqa: E402

from ... import stage_params  # noqa: E402
from .examples_data import REPO, annotated, example, int8_qdq  # noqa: E402

CPU = {"device": "cpu"}


@pytest.fixture
def backend():
    return get_backend("torch")


def save(model, path):
    path.write_bytes(model.SerializeToString())
    return path


def test_build_stores_the_annotated_onnx_with_a_build_record(backend, tmp_path):
    model, x, _, _ = example("transformer")
    src = save(annotated(model, "fp16"), tmp_path / "fp16.onnx")
    built = backend.build(src, tmp_path, {**CPU, "precision": "fp16", "cuda_graph": True}, CancelToken())
    stored = onnx.load(str(built.engine))
    record = read_record(stored)
    assert record["format"] == 1 and record["settings"] == {"device": "cpu", "fuse": True, "cuda_graph": True,
                                                            "tf32": False, "compile": False}
    assert record["torch"] == torch.__version__
    original = onnx.load(str(src))
    assert [n.name for n in stored.graph.node] == [n.name for n in original.graph.node]
    assert [p.key for p in stored.metadata_props] == [RECORD_KEY]
    assert built.details["conversion"]["fused_nodes"] > 0 and built.metrics["convert_ms"] > 0
    session = backend.load(built.engine, {})  # settings come from the record
    assert session.settings.device == "cpu" and session.settings.cuda_graph
    out = session.run({"input": x[:7]})
    assert out["probs"].shape == (7, 10) and out["probs"].dtype == np.float32
    assert [s.name for s in session.inputs()] == ["input"] and session.output_names() == ["probs"]


def test_a_plain_onnx_file_loads_too(backend):
    session = backend.load(REPO / "examples" / "digits" / "model.onnx", CPU)
    _, x, _, _ = example("digits")
    assert session.run({"input": x[:3]})["probs"].shape == (3, 10)


def test_benchmark_timing_on_cpu_uses_the_host_clock(backend):
    session = backend.load(REPO / "examples" / "digits" / "model.onnx", CPU)
    _, x, _, _ = example("digits")
    cancel = CancelToken()
    m = measure(session.timer({"input": x[:4]}, cancel), TimingPolicy(1, 0.0, 5, 10.0), cancel)
    assert len(m.times_ms) == 5 and min(m.times_ms) > 0 and session.timer_name() == "host perf_counter"
    assert session.device() == "cpu" and session.threads()["torch_threads"] >= 1


def test_settings_are_checked(backend, tmp_path):
    src = REPO / "examples" / "digits" / "model.onnx"
    with pytest.raises(UserError) as err:
        backend.build(src, tmp_path, {"device": "tpu"}, CancelToken())
    assert err.value.code == "BAD_PARAM"
    with pytest.raises(UserError) as err:
        backend.build(src, tmp_path, {**CPU, "fuse": "yes"}, CancelToken())
    assert err.value.code == "BAD_PARAM" and "fuse" in err.value.message


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_a_clear_unsupported_error(backend, tmp_path):
    with pytest.raises(UnsupportedError) as err:
        backend.build(REPO / "examples" / "digits" / "model.onnx", tmp_path, {}, CancelToken())
    assert err.value.code == "NO_CUDA_DEVICE" and "device: cpu" in err.value.message


def test_unsupported_op_fails_the_build(backend, tmp_path):
    model, _, _, _ = example("digits")
    model.graph.node[1].op_type = "Det"  # a real ONNX op the backend has no handler for
    with pytest.raises(UserError) as err:
        backend.build(save(model, tmp_path / "m.onnx"), tmp_path, CPU, CancelToken())
    assert err.value.code == "UNSUPPORTED_OP" and err.value.node == model.graph.node[1].name


def test_explain_reports_fusion_folding_and_qdq(backend, tmp_path):
    model, _, _, calib = example("transformer")
    rows = {r.node: r for r in backend.explain(None, save(annotated(model, "fp16"), tmp_path / "a.onnx"), CPU)}
    assert not any(n.startswith("trtpipe/") for n in rows)
    assert rows["/blocks/blocks.0/attn/qkv/MatMul"].realized == "fp16"
    assert rows["/blocks/blocks.0/attn/qkv/MatMul"].reason == "FUSED"
    assert rows["/blocks/blocks.0/attn/Shape"].realized == "-"
    assert any(r.reason == "CONSTANT_FOLDED" for r in rows.values())
    q = int8_qdq(model, calib, tmp_path)
    for node in q.graph.node:  # Q/DQ as a user's (or an exporter's) own nodes, not trtpipe bookkeeping
        node.name = node.name.replace("trtpipe/", "user/")
    q_rows = backend.explain(None, save(q, tmp_path / "q.onnx"), {**CPU, "fuse": False})
    by_reason = {}
    for r in q_rows:
        by_reason.setdefault(r.reason, []).append(r)
    assert {r.realized for r in by_reason["QDQ_EMULATED"]} == {"fp32"}
    assert any(r.realized == "int8" for r in q_rows if r.node.endswith("/quantize"))


def test_tf32_cells_report_tf32_matmuls_on_gpus_only(backend, tmp_path):
    model, _, _, _ = example("digits")
    path = save(model, tmp_path / "m.onnx")
    from trtpipe_runner.backends.torch.explain import explain_model

    on_gpu = {r.node: r.realized for r in explain_model(onnx.load(str(path)), True, True, on_gpu=True)}
    assert on_gpu["/features/conv1/Conv"] == "tf32" and on_gpu["/features/relu1/Relu"] == "fp32"
    on_cpu = {r.node: r.realized for r in backend.explain(None, path, {**CPU, "precision": "tf32"})}
    assert on_cpu["/features/conv1/Conv"] == "fp32"


def test_stages_build_evaluate_benchmark_with_the_torch_backend(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    examples = REPO / "examples" / "digits"
    model = put_copy(store, examples / "model.onnx")
    evald = put_copy(store, examples / "eval.npz")
    labels = {"eval_data": {"labels": "labels"}}
    params = stage_params.complete("evaluate", {"backend": "torch", **labels})
    ref, _ = run_stage("reference", {"model": model, "eval_data": evald}, stage_params.reference(**labels), store)
    transformed, _ = run_stage("transform", {"model": model}, stage_params.transform("bf16", opset=22), store)
    built, _ = run_stage("build", {"model": transformed.outputs["model"].sha256},
                         stage_params.build("bf16", backend="torch", device="cpu"), store)
    assert built.details["backend"] == "torch" and built.details["realized_counts"]["bf16"] > 0
    engine = built.outputs["engine"].sha256
    ev, _ = run_stage("evaluate", {"engine": engine, "eval_data": evald,
                                   "reference": ref.outputs["reference"].sha256}, params, store)
    assert ev.metrics["cosine"] > 0.9999 and ev.metrics["top1"] > 0.97
    bench, _ = run_stage("benchmark", {"engine": engine, "eval_data": evald},
                         stage_params.benchmark(backend="torch", batches=[1, 8], warmup=1, iterations=3), store)
    assert bench.metrics["b8.latency_p50_ms"] > 0 and bench.details["timer"] == "host perf_counter"
    json.dumps(bench.details)
