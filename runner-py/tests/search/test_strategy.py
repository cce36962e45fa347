"""The search strategy on oracles whose answer is known, and on the overflow model."""
from __future__ import annotations

import itertools
import json

import pytest

from trtpipe_runner.errors import UserError
from trtpipe_runner.search.budget import Budget
from trtpipe_runner.search.strategy import search

from .. import stage_params
from ..fixtures.models import EXAMPLES

BUDGET = Budget(cosine=0.999)


def oracle(damaging: set[str], weights: dict[str, float] | None = None):
    """A monotone model of damage: each lowered damaging node costs cosine."""
    calls = []

    def evaluate(kept: frozenset) -> dict[str, float]:
        calls.append(kept)
        loss = sum((weights or {}).get(n, 0.01) for n in damaging if n not in kept)
        return {"cosine": 1.0 - loss, "nonfinite": 0.0}

    return evaluate, calls


NODES = [f"n{i:02d}" for i in range(40)]


@pytest.mark.parametrize("damaging", [set(), {"n07"}, {"n00", "n39"}, {"n03", "n04", "n20", "n33"}])
def test_finds_exactly_the_damaging_nodes(damaging):
    evaluate, calls = oracle(damaging)
    out = search(evaluate, BUDGET, NODES, set(), max_evaluations=200)
    assert set(out.kept) == damaging
    assert BUDGET.holds(evaluate(frozenset(out.kept)))
    assert len(set(calls)) < 40, "far fewer evaluations than one per node"


def test_refinement_drops_prior_nodes_that_are_not_needed():
    evaluate, _ = oracle({"n05"})
    out = search(evaluate, BUDGET, NODES, prior={"n05", "n06", "n07"}, max_evaluations=200)
    assert out.kept == ["n05"] and out.prior == ["n05", "n06", "n07"]
    assert out.sensitivity["n05"] > 0.0005 and out.sensitivity["n06"] == 0.0


def test_never_returns_a_set_that_misses_the_budget_even_when_evaluations_run_out():
    damaging = {"n01", "n11", "n21", "n31"}
    for cap in (1, 2, 3, 5, 8, 13):
        evaluate, _ = oracle(damaging)
        out = search(evaluate, BUDGET, NODES, set(), max_evaluations=cap)
        assert BUDGET.holds(evaluate(frozenset(out.kept))), cap
        assert damaging <= set(out.kept)


def test_small_tolerated_losses_are_left_low():
    # Each node alone costs less than the budget allows, two together do not.
    weights = {"n10": 0.0006, "n20": 0.0006}
    evaluate, _ = oracle({"n10", "n20"}, weights)
    out = search(evaluate, BUDGET, NODES, set(), max_evaluations=200)
    assert len(out.kept) == 1


def test_an_unreachable_budget_is_a_clear_error():
    def evaluate(kept):
        return {"cosine": 0.99, "nonfinite": 0.0}

    with pytest.raises(UserError) as info:
        search(evaluate, BUDGET, NODES, set(), max_evaluations=10)
    assert info.value.code == "BUDGET_UNREACHABLE" and "not a precision problem" in info.value.message


def test_the_search_stage_on_the_overflow_model_respects_pinned_nodes(tmp_path):
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.stages import get_stage
    from trtpipe_runner.stages.context import StageContext

    store = ArtifactStore(tmp_path / "store")
    put = lambda name: store.put_bytes((EXAMPLES / "overflow" / name).read_bytes())  # noqa: E731
    m, c, e = put("model.onnx"), put("calib.npz"), put("eval.npz")
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, stage_params.typed(stage, p))  # noqa: E731
    ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {}))
    rng = get_stage("reference")(ctx("reference", {"model": m, "calib_data": c}, {}))
    inputs = {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256, "ranges": rng.outputs["ranges"].sha256}
    pinned = {"match": {"name": ["/fc2/Gemm"]}, "use": "fp16", "why": "the user decided"}
    # Without the range rule (data_max: null), which would keep /norm/Pow by itself.
    policy = {"default": "fp16", "rules": [pinned], "safety": {"data_max": None}}
    runs = [get_stage("search")(ctx("search", inputs, {"policy": policy, "budget": {"cosine": 0.999}})).details for _ in range(2)]
    a, b = runs
    assert a["kept"] == b["kept"], "stable across runs"
    assert "/norm/Pow" in a["kept"] and "/fc2/Gemm" not in a["kept"]
    assert a["metrics"]["cosine"] >= 0.999 and a["blanket_metrics"]["cosine"] < 0.9
    assert b["evaluations"] == 0, "the second run is answered from the candidate cache"
    # The kept set goes to the transform, which marks it and leaves the pinned node alone.
    result = store.put_bytes(json.dumps({"towards": "fp16", "kept": a["kept"]}).encode())
    t = get_stage("transform")(ctx("transform", {"model": m, "search": result}, {"policy": policy})).details["lock"]
    by = {r["node"]: r for r in t}
    assert by["/norm/Pow"]["reason"] == "SEARCH_FALLBACK" and by["/norm/Pow"]["resolved"] == "fp32"
    assert by["/fc2/Gemm"]["reason"] == "POLICY_RULE" and by["/fc2/Gemm"]["resolved"] == "fp16"


def test_budget_misses_are_explained():
    b = Budget(cosine=0.999, top1_drop=0.5, max_abs=0.1)
    m = {"cosine": 0.99, "top1": 0.90, "reference_top1": 0.95, "max_abs": 0.5, "nonfinite": 2.0}
    misses = b.misses(m)
    assert misses[0] == "2 NaN/Inf values" and any("top-1 drop 5.00 points > 0.5" in x for x in misses)
    assert Budget.parse({"cosine": 0.9}).cosine == 0.9
    with pytest.raises(UserError):
        Budget.parse({"cosnie": 0.9})


def test_strategy_is_exhaustively_right_on_small_cases():
    nodes = [f"m{i}" for i in range(6)]
    for k in range(0, 4):
        for damaging in itertools.combinations(nodes, k):
            evaluate, _ = oracle(set(damaging))
            assert set(search(evaluate, BUDGET, nodes, set(), 100).kept) == set(damaging)


@pytest.mark.parametrize("cap", [3, 4, 6, 9])
def test_a_capped_search_returns_the_best_set_it_verified_and_how_far_from_minimal_it_may_be(cap):
    damaging = {"n05", "n30"}
    evaluate, _ = oracle(damaging)
    out = search(evaluate, BUDGET, NODES, set(), max_evaluations=cap)
    assert out.exhausted
    assert BUDGET.holds(evaluate(frozenset(out.kept))) and damaging <= set(out.kept)
    assert len(out.kept) < len(NODES), "never 'keep everything' once a smaller passing set was seen"
    # The bound is proven by failing candidates: valid (at most the true minimum) and not empty.
    assert 1 <= out.at_least <= len(damaging)
    assert set(out.untried) <= set(out.kept)


def test_lower_bound_counts_disjoint_demands():
    from trtpipe_runner.search.strategy import lower_bound

    c = frozenset(NODES[:6])
    # Failing: keeping n00..n02 (a node of n03..n05 is needed) and keeping n03..n05 (one of n00..n02 too).
    assert lower_bound([frozenset(NODES[:3]), frozenset(NODES[3:6])], c) == 2
    assert lower_bound([frozenset()], c) == 1
    assert lower_bound([], c) == 0
