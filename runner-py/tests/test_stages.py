"""Each stage over a real gRPC channel, on the digits example, with real ONNX Runtime."""
from __future__ import annotations

import io

import grpc
import numpy as np
import onnx
import pytest

from trtpipe_runner.gen import runner_pb2 as pb

from .conftest import details, error_detail
from .fixtures.models import EXAMPLES


def test_inspect_lists_inputs_outputs_and_nodes(client, digits):
    _, result = client.run_stage("inspect", {"model": digits["model"]})
    d = details(result)
    assert d["inputs"] == [{"name": "input", "dtype": "float32", "shape": ["batch", 1, 8, 8]}]
    assert d["outputs"][0]["name"] == "probs"
    assert d["op_counts"]["Conv"] == 2 and d["op_counts"]["Softmax"] == 1
    assert "/head/fc1/Gemm" in [n["name"] for n in d["nodes"]]


def test_reference_gives_fp32_outputs_and_ranges(client, digits):
    events, result = client.run_stage("reference", digits, {"batch": 64, "eval_data": {"labels": "labels"}})
    assert any(e.WhichOneof("event") == "progress" for e in events)
    ref = np.load(io.BytesIO(client.get(result.outputs["reference"].sha256)))
    assert ref["probs"].shape == (537, 10) and ref["probs"].dtype == np.float32
    assert result.metrics["top1"] > 0.95
    ranges = details(result)
    assert ranges["eval_data"]["samples"] == 537
    import json

    r = json.loads(client.get(result.outputs["ranges"].sha256))
    assert r["/features/conv1/Conv_output_0"]["absmax"] > 0


def _transform(client, digits, precision):
    return client.run_stage("transform", {"model": digits["model"]}, {"policy": {"default": precision}})


def test_transform_fp16_keeps_io_fp32_and_passes_the_checker(client, digits):
    _, result = _transform(client, digits, "fp16")
    m = onnx.load_from_string(client.get(result.outputs["model"].sha256))
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert m.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    lock = details(result)["lock"]
    assert {row["resolved"] for row in lock} == {"fp16"}
    assert all(row["reason"] == "POLICY_DEFAULT" for row in lock)
    assert result.metrics["casts_inserted"] == 2  # one in, one out


def _built(client, digits, precision, numerics="native"):
    _, t = _transform(client, digits, precision)
    _, b = client.run_stage("build", {"model": t.outputs["model"]}, {"backend": "onnxruntime", "numerics": numerics})
    return b


def test_build_explains_that_ort_cpu_runs_fp16_in_fp32(client, digits):
    b = _built(client, digits, "fp16")
    rows = {r["node"]: r for r in details(b)["explain"]}
    assert rows["/features/conv1/Conv"]["realized"] == "fp32"
    assert rows["/features/conv1/Conv"]["reason"] == "NO_KERNEL_ON_BACKEND"
    assert b.metrics["engine_bytes"] > 0


@pytest.fixture
def reference(client, digits):
    _, r = client.run_stage("reference", digits, {"eval_data": {"labels": "labels"}})
    return r.outputs["reference"]


@pytest.mark.parametrize("precision,numerics", [("fp32", "native"), ("fp16", "native"), ("fp16", "emulated")])
def test_evaluate_compares_with_the_reference(client, digits, reference, precision, numerics):
    b = _built(client, digits, precision, numerics)
    _, e = client.run_stage("evaluate", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"],
                                         "reference": reference}, {"eval_data": {"labels": "labels"}})
    m = e.metrics
    assert m["cosine"] > 0.999 and m["nonfinite"] == 0
    assert m["top1"] > 0.95 and abs(m["top1"] - m["reference_top1"]) <= 0.01
    assert m["top1_agreement"] >= 0.99
    assert {"max_abs", "mean_abs", "rel_p50", "rel_p90", "rel_p99", "rel_max"} <= set(m)
    if precision == "fp32":
        assert m["max_abs"] < 1e-5


def test_benchmark_reports_percentiles_per_batch(client, digits):
    b = _built(client, digits, "fp32")
    _, r = client.run_stage("benchmark", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"]},
                            {"batches": [1, 8], "warmup": 2, "iterations": 20})
    for batch in (1, 8):
        p50, p90, p99 = (r.metrics[f"b{batch}.latency_p{q}_ms"] for q in (50, 90, 99))
        assert 0 < p50 <= p90 <= p99
        assert r.metrics[f"b{batch}.iterations"] == 20
        assert r.metrics[f"b{batch}.throughput_per_s"] > 0


def test_benchmark_repeats_report_one_median_per_repeat(client, digits):
    b = _built(client, digits, "fp32")
    _, r = client.run_stage("benchmark", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"]},
                            {"batches": [1, 4], "warmup": 1, "iterations": 10, "repeats": 3})
    info = details(r)
    assert info["repeats"] == 3
    for batch in ("1", "4"):
        d = info["batches"][batch]
        assert len(d["repeat_p50_ms"]) == 3 and len(d["repeat_p99_ms"]) == 3
        assert all(0 < p50 <= p99 for p50, p99 in zip(d["repeat_p50_ms"], d["repeat_p99_ms"]))
        # The pooled statistics cover every repeat's iterations.
        assert d["iterations"] == 30 and r.metrics[f"b{batch}.repeats"] == 3
        assert min(d["repeat_p50_ms"]) <= d["latency_p50_ms"] <= max(d["repeat_p99_ms"])


def test_benchmark_stops_at_max_seconds_and_records_how_it_measured(client, digits):
    b = _built(client, digits, "fp32")
    _, r = client.run_stage("benchmark", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"]},
                            {"batches": [1, 8], "warmup": 2, "warmup_seconds": 0.05, "iterations": 10_000_000,
                             "max_seconds": 0.4})
    info = details(r)
    for batch in ("1", "8"):
        d = info["batches"][batch]
        assert d["stopped_by"] == ["max_seconds"] and 10 <= d["iterations"] < 10_000_000
        assert r.metrics[f"b{batch}.iterations"] == d["iterations"] and r.metrics[f"b{batch}.cv"] >= 0
    windows = info["timing"]
    assert [(w["batch"], w["repeat"]) for w in windows] == [(1, 0), (8, 0)]
    for w in windows:
        assert w["warmup_iterations"] >= 2 and w["requested"] == 10_000_000
        assert w["warmup_started_at"] <= w["started_at"] < w["ended_at"] and w["concurrent_stages"] == []
    # Provenance: the device, its state, the threads, the lease that kept it to itself.
    assert info["device"]["kind"] == "cpu" and info["device"]["before"]["cpu"]["logical_cores"] >= 1
    assert info["threads"]["inter_op"] == 1 and "intra_op" in info["threads"]
    exclusive = [lease for lease in r.leases if lease.mode == pb.LEASE_MODE_EXCLUSIVE]
    assert len(exclusive) == 1 and exclusive[0].device == info["lease"]["device"] == info["device"]["name"]
    assert exclusive[0].acquired_at <= windows[0]["warmup_started_at"] and windows[-1]["ended_at"] <= exclusive[0].released_at
    assert info["lease"]["enforced"] and info["contention"]["concurrent_stages"] == []


def test_every_stage_reports_the_device_leases_it_held(client, digits):
    _, t = _transform(client, digits, "fp32")
    assert [(lease.device.split("@")[0], lease.mode) for lease in t.leases] == [("cpu", pb.LEASE_MODE_SHARED)]
    assert t.leases[0].holder == "transform@test" and t.leases[0].released_at >= t.leases[0].acquired_at > 0


def test_a_file_that_is_not_onnx_is_a_user_error(client):
    ref = client.put(b"this is not a protobuf model at all").artifact
    with pytest.raises(grpc.RpcError) as info:
        client.run_stage("inspect", {"model": ref})
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    d = error_detail(info.value)
    assert d.code == "MODEL_NOT_ONNX" and d.kind == 1 and not d.traceback


def test_data_that_does_not_match_the_model_names_the_input(client, digits):
    buf = io.BytesIO()
    np.savez(buf, input=np.zeros((4, 1, 8, 9), np.float32))
    bad = client.put(buf.getvalue()).artifact
    with pytest.raises(grpc.RpcError) as info:
        client.run_stage("reference", {"model": digits["model"], "eval_data": bad})
    d = error_detail(info.value)
    assert d.code == "DATA_SHAPE_MISMATCH" and d.input == "input"
    assert "axis 3 is 9, not 8" in d.message


def test_unknown_stage_is_not_found(client):
    with pytest.raises(grpc.RpcError) as info:
        client.run_stage("bogus", {})
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "inspect" in error_detail(info.value).message


def test_examples_load():
    for ex in ("digits", "transformer", "overflow"):
        onnx.checker.check_model(onnx.load(str(EXAMPLES / ex / "model.onnx")), full_check=True)


def test_calibrate_with_smoothing_feeds_the_transform(client):
    import json

    model = client.put_file(EXAMPLES / "transformer" / "model.onnx")
    calib = client.put_file(EXAMPLES / "transformer" / "calib.npz")
    _, cal = client.run_stage("calibrate", {"model": model, "calib_data": calib},
                              {"method": "entropy", "smoothing": {"alpha": 0.8}, "device": "cpu"})
    d = details(cal)
    assert (d["device"], d["passes"], d["alpha"], d["smoothed_tensors"]) == ("cpu", 1, 0.8, 10)
    scales = json.loads(client.get(cal.outputs["scales"].sha256))
    assert scales["smoothing"]["alpha"] == 0.8
    assert len(scales["smoothing"]["factors"]["/blocks/blocks.0/ln1/LayerNormalization_output_0"]) == 32
    _, t = client.run_stage("transform", {"model": model, "scales": cal.outputs["scales"]},
                            {"policy": {"default": "int8"}})
    assert details(t)["inserted"]["smoothed"] == 10
    m = onnx.load_from_string(client.get(t.outputs["model"].sha256))
    assert sum(n.name.startswith("trtpipe/smooth/") for n in m.graph.node) == 10


def test_calibrate_rejects_a_bad_alpha_and_device(client):
    model = client.put_file(EXAMPLES / "transformer" / "model.onnx")
    calib = client.put_file(EXAMPLES / "transformer" / "calib.npz")
    for params, code in (({"smoothing": {"alpha": 2}}, "BAD_PARAM"), ({"device": "tpu"}, "BAD_PARAM")):
        with pytest.raises(grpc.RpcError) as err:
            client.run_stage("calibrate", {"model": model, "calib_data": calib}, params)
        assert error_detail(err.value).code == code


def test_every_stages_details_fit_the_contract(client, digits, reference):
    """What each stage reports is what proto/trtpipe/runner/v1/contract/stages/ says (the orchestrator's types)."""
    from trtpipe_runner.contract.stages import check_details

    _, i = client.run_stage("inspect", {"model": digits["model"]})
    _, r = client.run_stage("reference", digits, {"eval_data": {"labels": "labels"}})
    _, c = client.run_stage("calibrate", {"model": digits["model"], "calib_data": digits["calib_data"]}, {"device": "cpu"})
    _, t = client.run_stage("transform", {"model": digits["model"], "scales": c.outputs["scales"]},
                            {"policy": {"default": "int8"}})
    _, b = client.run_stage("build", {"model": t.outputs["model"]}, {"numerics": "emulated", "precision": "int8"})
    _, e = client.run_stage("evaluate", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"],
                                         "reference": reference}, {"eval_data": {"labels": "labels"}})
    _, m = client.run_stage("benchmark", {"engine": b.outputs["engine"], "eval_data": digits["eval_data"]},
                            {"batches": [1, 4], "warmup": 1, "iterations": 5, "repeats": 2})
    for stage, result in (("inspect", i), ("reference", r), ("calibrate", c), ("transform", t), ("build", b),
                          ("evaluate", e), ("benchmark", m)):
        check_details(stage, details(result))
    assert details(b)["explain"] and details(b)["backend"] == "onnxruntime"


@pytest.mark.parametrize("stage,drop,path", [
    ("transform", ("policy", "safety"), "params.policy: required key 'safety'"),
    ("calibrate", ("method",), "params: required key 'method'"),
    ("benchmark", ("iterations",), "params: required key 'iterations'"),
    ("build", ("backend",), "params: required key 'backend'"),
])
def test_a_missing_param_is_invalid_argument_naming_it(client, digits, stage, drop, path):
    from . import stage_params

    params = stage_params.complete(stage, {})
    holder = params
    for key in drop[:-1]:
        holder = holder[key]
    del holder[drop[-1]]
    with pytest.raises(grpc.RpcError) as info:
        client.run_stage(stage, {"model": digits["model"]}, params, raw=True)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    d = error_detail(info.value)
    assert d.code == "PARAM_MISSING" and path in d.message


def test_an_unknown_param_is_invalid_argument(client, digits):
    from . import stage_params

    with pytest.raises(grpc.RpcError) as info:
        client.run_stage("build", {"model": digits["model"]}, {**stage_params.build(), "optlevel": "all"}, raw=True)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown key 'optlevel'" in error_detail(info.value).message
