"""A search result's kept nodes resolve the same way for every precision (SEARCH_FALLBACK)."""
from __future__ import annotations

import pytest

from trtpipe_runner.precision.policy import resolve, unmatched_search_keep

from ..fixtures.models import mlp
from ..stage_params import policy_of


@pytest.mark.parametrize("precision", ["fp16", "bf16", "int8", "fp8"])
def test_kept_nodes_go_back_to_fp32_for_every_precision(precision):
    model = mlp()
    if precision in ("bf16", "fp8"):
        from trtpipe_runner.precision.opset import convert_opset

        model = convert_opset(model, 22)
    rows = {d.node: d for d in resolve(model, policy_of({"default": precision, "search_keep": ["fc1"]}))}
    assert (rows["fc1"].resolved, rows["fc1"].reason) == ("fp32", "SEARCH_FALLBACK")
    assert rows["head/fc2"].resolved == precision, "the nodes the search did not keep stay lowered"


def test_a_rule_and_the_policys_own_reasons_are_never_overridden_by_a_search_result():
    policy = policy_of({"default": "int8", "search_keep": ["fc1", "relu", "head/fc2"],
                           "rules": [{"match": {"name": ["head/fc2"]}, "use": "int8"}]})
    decisions = resolve(mlp(), policy)
    rows = {d.node: d for d in decisions}
    assert rows["head/fc2"].reason == "POLICY_RULE" and rows["head/fc2"].resolved == "int8"
    assert rows["relu"].reason == "NOT_QUANTIZABLE", "kept anyway, for its own reason"
    # Nodes a result names that this policy does not lower: the result is stale.
    assert unmatched_search_keep(decisions, policy.search_keep) == ["head/fc2", "relu"]
