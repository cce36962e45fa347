"""The ranked search (candidates ordered by measured impact) on oracles whose answer is known."""
from __future__ import annotations

import math
import random

import pytest

from trtpipe_runner.search.budget import Budget
from trtpipe_runner.search.ranked import rank
from trtpipe_runner.search.strategy import search

BUDGET = Budget(cosine=0.999)
NODES = [f"n{i:03d}" for i in range(200)]


def additive(weights: dict[str, float]):
    """1 - cosine is the sum of the lowered nodes' weights; NaN/Inf when an `inf` node is lowered."""
    calls = []

    def evaluate(kept: frozenset) -> dict[str, float]:
        calls.append(kept)
        lowered = [w for n, w in weights.items() if n not in kept]
        if any(math.isinf(w) for w in lowered):
            return {"cosine": 0.0, "nonfinite": 3.0}
        return {"cosine": 1.0 - sum(lowered), "nonfinite": 0.0}

    return evaluate, calls


def fewest(weights: dict[str, float], allowed: float = 0.001) -> set[str]:
    """The smallest set to keep under additive errors: the heaviest nodes, until the rest fit."""
    kept, left = set(), sum(weights.values())
    for n in sorted(weights, key=weights.get, reverse=True):
        if left <= allowed:
            break
        kept.add(n)
        left -= weights[n]
    return kept


def heavy_tail(seed: int = 0) -> dict[str, float]:
    """Two hundred candidates, a few that matter and a long tail (like the layers of a transformer)."""
    rng = random.Random(seed)
    return {n: 10 ** rng.uniform(-7, -5) for n in NODES} | {"n017": 9e-4, "n051": 4e-4, "n093": 3.5e-4,
                                                            "n140": 2e-4}


def test_accurate_impacts_find_the_fewest_nodes_in_a_handful_of_evaluations():
    weights = heavy_tail()
    evaluate, calls = additive(weights)
    out = search(evaluate, BUDGET, NODES, set(), max_evaluations=64, impact=weights)
    assert out.strategy == "ranked" and BUDGET.holds(evaluate(frozenset(out.kept)))
    assert set(out.kept) == fewest(weights) == {"n017", "n051"}
    assert len(set(calls)) <= 6, "all high, blanket, the predicted prefix and one step down"


def test_noisy_impacts_cost_evaluations_not_correctness():
    weights = heavy_tail(1)
    rng = random.Random(7)
    noisy = {n: w * 10 ** rng.uniform(-1, 1) for n, w in weights.items()}  # each off by up to 10x
    evaluate, calls = additive(weights)
    out = search(evaluate, BUDGET, NODES, set(), max_evaluations=64, impact=noisy)
    assert BUDGET.holds(evaluate(frozenset(out.kept)))
    assert len(out.kept) <= len(fewest(weights)) + 1
    assert len(set(calls)) < 30


def test_nodes_that_make_nan_or_inf_are_kept_first():
    weights = {n: 1e-7 for n in NODES[:40]} | {"n003": math.inf, "n030": math.inf, "n020": 2e-3}
    evaluate, _ = additive(weights)
    out = search(evaluate, BUDGET, NODES[:40], set(), max_evaluations=64, impact=weights)
    assert set(out.kept) == {"n003", "n030", "n020"}
    assert rank(NODES[:40], weights)[:3] == ["n003", "n030", "n020"]


def test_a_wrong_ranking_costs_evaluations_but_refinement_still_finds_a_minimal_set():
    # The ranking puts two harmless nodes first: the prefix keeps them, refinement lowers them again.
    weights = {n: 0.0 for n in NODES[:20]} | {"n005": 8e-4, "n006": 8e-4, "n007": 8e-4}
    wrong = dict(weights) | {"n000": 1.0, "n001": 0.9}
    evaluate, _ = additive(weights)
    out = search(evaluate, BUDGET, NODES[:20], set(), max_evaluations=64, impact=wrong)
    assert out.kept == ["n005", "n006"] and out.sensitivity["n005"] > 0.001


def test_refinement_lowers_the_nodes_that_fit_together_in_one_evaluation():
    # Unmeasured candidates: no prediction, the prefix runs past twenty light nodes to the heavy one
    # at the end; refinement puts the light ones back low in one evaluation, not twenty.
    weights = {n: 1e-6 for n in NODES[:24]} | {"n020": 3e-3}
    measured = {n: w for n, w in weights.items() if n != "n020"}  # n020 could not be captured
    evaluate, calls = additive(weights)
    out = search(evaluate, BUDGET, NODES[:24], set(), max_evaluations=64, impact=measured)
    assert out.kept == ["n020"]
    assert len(set(calls)) <= 2 + 5 + 1 + 1


def test_unmeasured_candidates_are_searched_after_the_measured_ones():
    weights = {n: 1e-6 for n in NODES[:30]} | {"n025": 3e-3}
    measured = {n: w for n, w in weights.items() if n not in ("n025", "n026")}  # n025 could not be captured
    evaluate, _ = additive(weights)
    out = search(evaluate, BUDGET, NODES[:30], set(), max_evaluations=64, impact=measured)
    assert out.kept == ["n025"]
    assert rank(NODES[:30], measured)[-2:] == ["n025", "n026"]


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_a_capped_ranked_search_returns_its_best_verified_set(cap):
    weights = {n: 1e-6 for n in NODES[:50]} | {"n010": 1.2e-3, "n040": 1.2e-3}
    evaluate, _ = additive(weights)
    rng = random.Random(3)
    shuffled = {n: rng.random() for n in weights}  # a ranking that knows nothing
    out = search(evaluate, BUDGET, NODES[:50], set(), max_evaluations=cap, impact=shuffled)
    assert BUDGET.holds(evaluate(frozenset(out.kept))) and {"n010", "n040"} <= set(out.kept)
    if out.exhausted:
        assert out.at_least >= 1


def test_a_budget_without_cosine_bisects_the_ranking():
    weights = heavy_tail(2)
    evaluate, calls = additive(weights)
    budget = Budget(max_abs=1.0)  # never judged by cosine: no prediction, only the ranking's order

    def with_abs(kept):
        m = evaluate(kept)
        m["max_abs"] = 2.0 if "n017" not in kept else 0.5
        return m

    out = search(with_abs, budget, NODES, set(), max_evaluations=64, impact=weights)
    assert out.kept == ["n017"] and len(set(calls)) <= 2 + 9


def test_the_search_stage_ranks_by_impact(tmp_path):
    """The overflow model in fp16 with its safety rule off: the localization finds the overflowing
    node, the ranked search keeps it, and a repeated search reads everything from the cache."""
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.contract.stages import check_details
    from trtpipe_runner.stages import get_stage
    from trtpipe_runner.stages.context import StageContext

    from .. import stage_params
    from ..fixtures.models import EXAMPLES

    store = ArtifactStore(tmp_path / "store")
    put = lambda name: store.put_bytes((EXAMPLES / "overflow" / name).read_bytes())  # noqa: E731
    m, e = put("model.onnx"), put("eval.npz")
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, stage_params.typed(stage, p))  # noqa: E731
    ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {}))
    params = {"policy": {"default": "fp16", "safety": {"data_max": None}}, "evaluator": "onnxruntime"}
    inputs = {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256}
    # A budget that every candidate in fp16 meets (blanket: cosine 0.32): no localization is paid for.
    loose = get_stage("search")(ctx("search", inputs, {**params, "budget": {"cosine": 0.2}})).details
    assert loose["kept"] == [] and loose["localize"] == {"skipped": "every candidate lowered meets the budget"}
    d = get_stage("search")(ctx("search", inputs, params)).details
    check_details("search", d)
    impact = {n: float(v) for n, v in d["impact"].items()}
    assert d["strategy"] == "ranked" and max(impact, key=impact.get) == "/norm/Pow"
    assert "/norm/Pow" in d["kept"] and d["metrics"]["cosine"] >= 0.999
    assert d["localize"]["measured"] == d["candidates"]
    again = get_stage("search")(ctx("search", inputs, params)).details
    assert again["localize"]["cached"] and again["evaluations"] == 0 and again["kept"] == d["kept"]
    bisected = get_stage("search")(ctx("search", inputs, {**params, "ranking": "topological"})).details
    assert bisected["strategy"] == "bisection" and bisected["impact"] == {} and bisected["localize"] == {}
    assert "/norm/Pow" in bisected["kept"]


def test_the_torch_evaluator_measures_the_same_impacts(tmp_path):
    """The GPU evaluator's path, run on the CPU: its localization ranks the overflowing node first."""
    pytest.importorskip("torch")
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.data.dataset import load_npz
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.model.tensors import graph_inputs
    from trtpipe_runner.precision.policy import resolve
    from trtpipe_runner.search.candidate import CandidateGraph
    from trtpipe_runner.search.evaluator import CandidateEvaluator
    from trtpipe_runner.search.impacts import candidate_impacts

    from .. import stage_params
    from ..fixtures.models import EXAMPLES

    model = load_model(EXAMPLES / "overflow" / "model.onnx", with_data=True)
    base = resolve(model, stage_params.policy_of({"default": "fp16", "safety": {"data_max": None}}))
    graph = CandidateGraph(model, base, "fp16", keep_io=True, amax=None, per_channel=True, unquantized="fp32")
    data = load_npz(EXAMPLES / "overflow" / "eval.npz", graph_inputs(model))
    reference = dict(zip([o.name for o in model.graph.output], _fp32_outputs(model, data)))
    evaluator = CandidateEvaluator(graph, data, reference, "torch", {"device": "cpu"}, tmp_path, tmp_path, "torch-cpu",
                                   CancelToken())
    impact, details = candidate_impacts(evaluator, model, Budget(cosine=0.999), CancelToken())
    assert impact is not None and max(impact, key=impact.get) == "/norm/Pow", details
    assert details["measured"] == len(graph.candidates)


def _fp32_outputs(model, data):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, dict(data.inputs))
