"""The precision chain on every shipped example and precision: what the search
kept and measured is what the transform locks, what the build realizes and
what the evaluation measures (real stages, ONNX Runtime with emulated numerics).
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.stages import get_stage
from trtpipe_runner.stages.context import StageContext

from .. import stage_params
from ..fixtures.models import EXAMPLES

SAFETY = {"data_max": 512, "init_max": 65504}  # the pipeline defaults (src/config/normalize.ts)
CASES = [
    # example, precision searched towards, extra policy, budget
    ("digits", "fp16", {}, {"cosine": 0.999999}),
    ("digits", "bf16", {"opset": 22}, {"cosine": 0.9999}),
    ("digits", "int8", {}, {"cosine": 0.99999}),  # the int8 branch once ignored the search (issue 19)
    ("digits", "fp8", {"opset": 22}, {"cosine": 0.9999}),
    ("overflow", "fp16", {}, {"cosine": 0.999}),  # safety rules keep the overflowing nodes
    ("overflow", "fp16", {"safety": {"data_max": None, "init_max": None}}, {"cosine": 0.999}),
    ("overflow", "int8", {}, {"cosine": 0.9999}),
    ("transformer", "bf16", {"opset": 22}, {"cosine": 0.99999}),
    ("transformer", "int8", {}, {"cosine": 0.9999}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ArtifactStore(tmp_path_factory.mktemp("chain") / "store")


def ctx(stage, store, inputs, params):
    return StageContext(store, CancelToken(), inputs, stage_params.typed(stage, params))


_prepared: dict[str, dict] = {}


def prepared(store, example: str) -> dict:
    """Model, data, FP32 reference, activation ranges and minmax scales of an example (once per module)."""
    if example not in _prepared:
        put = lambda name: store.put_bytes((EXAMPLES / example / name).read_bytes())  # noqa: E731
        m, c, e = put("model.onnx"), put("calib.npz"), put("eval.npz")
        ref = get_stage("reference")(ctx("reference", store, {"model": m, "eval_data": e}, {"eval_data": {"labels": "labels"}}))
        rng = get_stage("reference")(ctx("reference", store, {"model": m, "calib_data": c}, {}))
        cal = get_stage("calibrate")(ctx("calibrate", store, {"model": m, "calib_data": c}, {"method": "minmax"}))
        _prepared[example] = {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256,
                              "ranges": rng.outputs["ranges"].sha256, "scales": cal.outputs["scales"].sha256,
                              "node_flops": ref.details["node_flops"]}
    return _prepared[example]


@pytest.mark.parametrize("example,towards,extra,budget", CASES,
                         ids=[f"{c[0]}-{c[1]}{'-nosafety' if 'safety' in c[2] else ''}" for c in CASES])
def test_search_lock_build_and_evaluation_agree(store, example, towards, extra, budget):
    p = prepared(store, example)
    policy = {"default": towards, "io": "keep", "rules": [], "safety": SAFETY, **extra}
    quantized = towards in ("int8", "fp8")
    common = {"model": p["model"], "ranges": p["ranges"], **({"scales": p["scales"]} if quantized else {})}
    search = get_stage("search")(ctx("search", store, {**common, "eval_data": p["eval_data"], "reference": p["reference"]},
                                     {"policy": policy, "budget": budget, "max_evaluations": 24,
                                      "evaluator": "onnxruntime", "eval_data": {"labels": "labels"}}))
    found = search.details
    transform = get_stage("transform")(ctx("transform", store, {**common, "search": search.outputs["result"].sha256},
                                           {"policy": policy}))
    lock = transform.details["lock"]
    assert [r["node"] for r in lock if r["reason"] == "SEARCH_FALLBACK"] == found["kept"]
    # The shares the search prints are the lockfile's, node for node and FLOP for FLOP.
    resolved = Counter(r["resolved"] for r in lock if r["resolved"] != "-")
    assert {k: v["nodes"] for k, v in found["shares"].items()} == dict(resolved)
    assert abs(sum(v["node_share"] for v in found["shares"].values()) - 1) < 1e-9
    flops = p["node_flops"]
    total = sum(flops[r["node"]] for r in lock if r["resolved"] != "-")
    for precision, share in found["shares"].items():
        mine = sum(flops[r["node"]] for r in lock if r["resolved"] == precision) / total
        assert share["flops"] == pytest.approx(mine)
    build = get_stage("build")(ctx("build", store, {"model": transform.outputs["model"].sha256},
                                   {"backend": "onnxruntime", "numerics": "emulated"}))
    realized = {r["node"]: r["realized"] for r in build.details["explain"]}
    assert {r["node"]: r["resolved"] for r in lock if r["resolved"] != "-"} == \
        {r["node"]: realized[r["node"]] for r in lock if r["resolved"] != "-"}
    evaluate = get_stage("evaluate")(ctx("evaluate", store, {"engine": build.outputs["engine"].sha256,
                                                             "eval_data": p["eval_data"],
                                                 "reference": p["reference"]},
                                         {"backend": "onnxruntime", "metrics": ["cosine"],
                                          "eval_data": {"labels": "labels"}}))
    assert evaluate.metrics["cosine"] == pytest.approx(found["metrics"]["cosine"], abs=1e-6)
    assert evaluate.metrics["cosine"] >= budget["cosine"] - 1e-6
    if (example, towards) == ("overflow", "fp16") and "safety" not in extra:
        assert found["fixed"] == {"RANGE_OVERFLOW": 8} and "RANGE_OVERFLOW 8" in found["rules_yaml"]
    if (example, towards) == ("digits", "int8"):
        assert found["kept"], "the budget needs a Conv in fp32, and the lockfile keeps it there"
        assert json.loads(store.require(search.outputs["result"].sha256).read_text())["kept"] == found["kept"]
