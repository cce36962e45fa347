"""A search candidate: exact ops follow the kept nodes that feed them, so keeping a node
in fp32 is not undone by rounding its output at the next Relu or Reshape."""
from __future__ import annotations

from trtpipe_runner.precision.policy import resolve
from trtpipe_runner.search.candidate import CandidateGraph

from ..fixtures.models import mlp
from ..stage_params import policy_of


def graph(io="keep"):
    model = mlp()
    base = resolve(model, policy_of({"default": "fp16", "io": io}))
    return CandidateGraph(model, base, "fp16", keep_io=io == "keep", amax=None, per_channel=True, unquantized="fp32")


def test_an_exact_op_fed_only_by_kept_nodes_is_kept_with_them():
    g = graph()
    assert "relu" not in g.candidates and "fc1" in g.candidates
    kept = {d.node: d.reason for d in g.decisions(frozenset({"fc1"})) if d.resolved == "fp32"}
    assert kept == {"fc1": "SEARCH_FALLBACK", "relu": "SEARCH_FALLBACK"}
    # Fed by an fp16 node, or with nothing kept, it stays as the policy placed it.
    assert {d.node for d in g.decisions(frozenset({"head/fc2"})) if d.resolved == "fp32"} == {"head/fc2"}
    assert not [d for d in g.decisions(frozenset()) if d.resolved == "fp32"]
