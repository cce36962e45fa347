"""Localization on the examples with ONNX Runtime: where a low-precision graph departs from FP32."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.contract.stages import check_details
from trtpipe_runner.data.dataset import load_npz
from trtpipe_runner.errors import UserError
from trtpipe_runner.localize.capture import localize
from trtpipe_runner.model.load import load_model
from trtpipe_runner.model.tensors import graph_inputs
from trtpipe_runner.precision.apply import annotated_model
from trtpipe_runner.precision.policy import resolve
from trtpipe_runner.stages import get_stage, parse_stage_params
from trtpipe_runner.stages.context import StageContext

from .. import stage_params
from ..fixtures.models import EXAMPLES

EMULATED = stage_params.build("fp16", numerics="emulated")  # the build settings of an emulated cell


def low_graph(example: str, policy: dict, ranges: dict | None = None, amax: dict | None = None):
    model = load_model(EXAMPLES / example / "model.onnx", with_data=True)
    decisions = resolve(model, stage_params.policy_of(policy), ranges)
    return model, annotated_model(model, decisions, True, amax, True)[0], decisions


def run(example, low, fp32, tmp_path, settings=EMULATED, **kw):
    data = load_npz(EXAMPLES / example / "eval.npz", graph_inputs(fp32), labels_key="labels")
    return localize(fp32, low, "onnxruntime", settings, data, tmp_path, CancelToken(), samples=kw.pop("samples", 64),
                    batch=16, device="cpu", **kw)


@pytest.fixture(scope="module")
def safety_named(tmp_path_factory) -> set[str]:
    """The nodes the pipeline's safety rules keep in fp32 on the overflow example (RANGE_OVERFLOW)."""
    store = ArtifactStore(tmp_path_factory.mktemp("store"))
    put = lambda n: store.put_bytes((EXAMPLES / "overflow" / n).read_bytes())  # noqa: E731
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, stage_params.typed(stage, p))  # noqa: E731
    rng = get_stage("reference")(ctx("reference", {"model": put("model.onnx"), "calib_data": put("calib.npz")}, {}))
    ranges = {k: v["absmax"] for k, v in json.loads(store.require(rng.outputs["ranges"].sha256).read_text()).items()}
    model = load_model(EXAMPLES / "overflow" / "model.onnx")
    decisions = resolve(model, stage_params.policy_of({"default": "fp16", "safety": {"data_max": 512}}), ranges)
    return {d.node for d in decisions if d.reason == "RANGE_OVERFLOW"}


def test_overflow_first_divergence_and_ranking_agree_with_the_safety_rules(tmp_path, safety_named):
    fp32, low, _ = low_graph("overflow", {"default": "fp16"})  # blanket fp16: the safety rules off
    a = run("overflow", low, fp32, tmp_path, cosine_tolerance=0.999).attribution
    assert a.first_crossing is not None and a.first_crossing.node in safety_named
    assert a.first_crossing.nonfinite > 0 and a.first_crossing.added == math.inf
    top = a.ranked()[0]
    assert top.node in safety_named and top.node == a.first_crossing.node


def test_a_graph_in_fp32_shows_no_error_anywhere(tmp_path):
    fp32, low, _ = low_graph("digits", {"default": "fp32"})
    a = run("digits", low, fp32, tmp_path, settings=stage_params.build()).attribution
    assert a.nodes and a.first_crossing is None and not a.uncaptured
    assert all(n.rel_error < 1e-6 and n.added < 1e-6 for n in a.nodes)


def test_nodes_kept_in_fp32_add_nothing_of_their_own_though_their_error_grows(tmp_path):
    policy = {"default": "fp16", "rules": [{"match": {"name": ["/norm/*"]}, "use": "fp32"}]}
    fp32, low, decisions = low_graph("overflow", policy)
    a = run("overflow", low, fp32, tmp_path).attribution
    kept = {d.node for d in decisions if d.resolved == "fp32"}
    rows = {n.node: n for n in a.nodes}
    assert kept & rows.keys()
    for name in kept & rows.keys():
        assert rows[name].added < 1e-6, name  # computes in fp32 on what it got: rounds nothing itself
    # The normalization divides by a small spread: it grows the error it receives.
    assert max(rows[n].growth for n in kept & rows.keys()) > 1e-4


def test_impact_predicts_what_lowering_one_node_alone_does(tmp_path):
    """int8 on digits: each layer's impact (its own error put back into the FP32 graph alone) against
    the real thing, that layer alone in int8, the others fp32."""
    from trtpipe_runner.backends import get_backend
    from trtpipe_runner.calibration.collect import calibrate
    from trtpipe_runner.calibration.ranges import quantized_inputs
    from trtpipe_runner.evaluation.metrics import cosine

    model = load_model(EXAMPLES / "digits" / "model.onnx", with_data=True)
    with np.load(EXAMPLES / "digits" / "calib.npz") as z:
        calib = {k: z[k] for k in z.files if k != "labels"}
    amax = calibrate(model, quantized_inputs(model), lambda: iter([calib]), "minmax", 99.99, "cpu", CancelToken()).amax
    decisions = resolve(model, stage_params.policy_of({"default": "int8"}))
    low = annotated_model(model, decisions, True, amax, True)[0]
    layers = [d.node for d in decisions if d.resolved == "int8"]
    a = run("digits", low, model, tmp_path, settings=stage_params.build(), samples=16, impact_nodes=layers,
            impact_samples=16).attribution
    impact = {n.node: n.impact for n in a.nodes if n.impact is not None}
    assert set(impact) == set(layers)
    data = load_npz(EXAMPLES / "digits" / "eval.npz", graph_inputs(model), labels_key="labels", samples=16)
    backend = get_backend("onnxruntime")
    ref = backend.session_from_model(model, {}).run(data.inputs)
    for layer in layers:
        alone = [d if d.node == layer else resolve_fp32(d) for d in decisions]
        got = backend.session_from_model(annotated_model(model, alone, True, amax, True)[0], {}).run(data.inputs)
        truth = max(1 - cosine(got[k].astype(np.float64), ref[k].astype(np.float64)) for k in ref)
        assert impact[layer] == pytest.approx(truth, rel=0.3, abs=1e-7), layer


def resolve_fp32(d):
    from dataclasses import replace

    return replace(d, resolved="fp32", reason="SEARCH_FALLBACK") if d.resolved == "int8" else d


def test_the_stage_reports_nodes_ranking_and_first_crossing(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    put = lambda n: store.put_bytes((EXAMPLES / "overflow" / n).read_bytes())  # noqa: E731
    m, e = put("model.onnx"), put("eval.npz")
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, stage_params.typed(stage, p))  # noqa: E731
    low = get_stage("transform")(ctx("transform", {"model": m}, {"policy": {"default": "fp16"}})).outputs["model"].sha256
    params = {"build": {"numerics": "emulated"}, "tolerance": {"cosine": 0.999}, "samples": 32,
              "eval_data": {"labels": "labels"}}
    out = get_stage("localize")(ctx("localize", {"model": m, "annotated": low, "eval_data": e}, params))
    d = out.details
    check_details("localize", d)
    assert d["samples"] == 32 and d["first_crossing"]["node"] == d["ranking"][0]
    assert d["first_crossing"]["added"] == "inf"  # JSON-safe, as every stage's details
    assert {"node", "op", "rel_error", "cosine", "max_abs", "nonfinite", "added", "growth"} <= set(d["nodes"][0])
    with_impact = [n for n in d["nodes"] if "impact" in n]
    assert with_impact and d["first_crossing"]["node"] in {n["node"] for n in with_impact}
    assert out.metrics["nodes_measured"] == len(d["nodes"])
    with pytest.raises(UserError, match="evaluate.localize.mask: 'tokens_mask' is not an input of the model"):
        get_stage("localize")(ctx("localize", {"model": m, "annotated": low, "eval_data": e}, {**params, "mask": "tokens_mask"}))
    # The contract checks the params before any work: no sample, no guessed default.
    with pytest.raises(UserError, match=r"params\.samples"):
        stage_params.typed("localize", {**params, "samples": 0})
    with pytest.raises(UserError, match="required key .impact_nodes. is missing"):
        sent = stage_params.complete("localize", params)
        parse_stage_params("localize", {k: v for k, v in sent.items() if k != "impact_nodes"})


def test_the_torch_backend_localizes_as_onnx_runtime_does(tmp_path):
    """The GPU path, run on the CPU: the torch backend builds the capture (fusions kept out of the
    captured tensors) and finds what ONNX Runtime finds."""
    pytest.importorskip("torch")
    fp32, low, _ = low_graph("overflow", {"default": "fp16"})
    data = load_npz(EXAMPLES / "overflow" / "eval.npz", graph_inputs(fp32), labels_key="labels")
    a = localize(fp32, low, "torch", {"device": "cpu"}, data, tmp_path, CancelToken(), samples=32, batch=16,
                 device="cpu", cosine_tolerance=0.999, impact_nodes=4).attribution
    assert a.first_crossing is not None and a.first_crossing.node == "/norm/Pow" and not a.uncaptured
    assert a.ranked()[0].node == "/norm/Pow" and a.ranked()[0].impact is not None


def test_memory_stays_bounded_by_cutting_the_batch(tmp_path):
    """A first batch of one sample sizes the rest to what fits in memory_mib: statistics, not tensors, are kept."""
    fp32, low, _ = low_graph("overflow", {"default": "fp16"})
    roomy = run("overflow", low, fp32, tmp_path / "a", samples=32)
    tight = run("overflow", low, fp32, tmp_path / "b", samples=32, memory_mib=0)
    assert roomy.batches == 1 + 2 and tight.batches == 32  # 1, then 16 + 15; or one sample a batch throughout
    assert [n.rel_error for n in tight.attribution.nodes] == pytest.approx([n.rel_error for n in roomy.attribution.nodes])


def test_a_shape_that_depends_on_rounding_is_a_clear_error(tmp_path):
    """x > 1 picks different elements in fp16 (1.0002 rounds to 1.0) than in FP32: the picked values
    (GatherND over NonZero) differ in shape, and localize says which tensor and why."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Greater", ["x", "one"], ["gt"], name="greater"),
             helper.make_node("NonZero", ["gt"], ["nz"], name="nonzero"),
             helper.make_node("Transpose", ["nz"], ["idx"], name="transpose", perm=[1, 0]),
             helper.make_node("GatherND", ["x", "idx"], ["picked"], name="gather"),
             helper.make_node("ReduceSum", ["picked"], ["y"], name="sum", keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
                              [numpy_helper.from_array(np.array(1.0, np.float32), "one")])
    fp32 = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    fp32.ir_version = 9
    decisions = resolve(fp32, stage_params.policy_of({"default": "fp16", "io": "keep"}))
    low = annotated_model(fp32, decisions, True, None, True)[0]
    x = np.full((4, 3), 2.0, np.float32)
    x[0, 0] = 1.0002  # > 1 in FP32, exactly 1 in fp16
    np.savez(tmp_path / "data.npz", x=x)
    data = load_npz(tmp_path / "data.npz", graph_inputs(fp32))
    with pytest.raises(UserError) as exc:
        localize(fp32, low, "onnxruntime", EMULATED, data, tmp_path, CancelToken(), samples=4, batch=4,
                 device="cpu")
    assert exc.value.code == "LOCALIZE_SHAPE_MISMATCH" and "'picked'" in exc.value.message
