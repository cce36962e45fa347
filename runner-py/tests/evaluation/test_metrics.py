"""Metrics that fit the model: arg-max agreement only where asked, nearest-neighbour agreement for embeddings."""
from __future__ import annotations

import numpy as np

from trtpipe_runner.evaluation.metrics import aggregate, compare, nn_agreement


def embeddings(n=64, d=32, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_nearest_neighbour_agreement_sees_what_retrieval_would_return():
    ref = embeddings()
    assert nn_agreement(ref, ref) == 1.0
    # A tiny perturbation keeps every neighbour; swapping two samples' vectors moves theirs.
    assert nn_agreement(ref + 1e-6, ref) == 1.0
    noisy = ref + np.random.default_rng(1).normal(scale=2.0, size=ref.shape)
    assert nn_agreement(noisy, ref) < 0.5


def test_compare_computes_the_metrics_asked_for():
    ref = embeddings()
    plain = compare(ref, ref, top1=False)
    assert "top1_agreement" not in plain and "nn_agreement" not in plain and plain["cosine"] == 1.0
    both = compare(ref, ref, top1=True, nearest=True)
    assert both["top1_agreement"] == 1.0 and both["nn_agreement"] == 1.0
    assert aggregate({"a": {"nn_agreement": 0.9}, "b": {"nn_agreement": 0.7}})["nn_agreement"] == 0.7


def test_the_evaluate_stage_computes_the_metrics_the_pipeline_names(tmp_path):
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.stages import get_stage
    from trtpipe_runner.stages.context import StageContext

    from .. import stage_params
    from ..fixtures.models import EXAMPLES

    store = ArtifactStore(tmp_path / "store")
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, stage_params.typed(stage, p))  # noqa: E731
    m = store.put_bytes((EXAMPLES / "transformer" / "model.onnx").read_bytes())
    e = store.put_bytes((EXAMPLES / "transformer" / "eval.npz").read_bytes())
    ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {})).outputs["reference"].sha256
    model = get_stage("transform")(ctx("transform", {"model": m}, {"policy": {"default": "fp16"}})).outputs["model"].sha256
    engine = get_stage("build")(ctx("build", {"model": model}, {"numerics": "emulated"})).outputs["engine"].sha256
    inputs = {"engine": engine, "eval_data": e, "reference": ref}
    output = next(iter(__import__("numpy").load(store.require(ref)).files))
    # No labels: the error metrics, and nearest-neighbour agreement on the output that asks for it.
    out = get_stage("evaluate")(ctx("evaluate", inputs, {"metrics": ["cosine", "max_abs"],
                                                          "output_metrics": {output: ["nn_agreement"]}}))
    assert "top1_agreement" not in out.metrics and 0.9 <= out.metrics["nn_agreement"] <= 1.0
    assert out.details["outputs"][output]["nn_agreement"] == out.metrics["nn_agreement"]
