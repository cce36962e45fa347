"""search: the fewest nodes to keep in high precision that still meet the budget.

Inputs: model, eval_data, reference (+ ranges for the safety rules, + scales
for int8/fp8). Params: policy (default = the precision searched towards, with
the pipeline's rules and safety rules), budget, max_evaluations, evaluator
(onnxruntime: emulated numerics; torch: the GPU evaluator), ranking
(impact: candidates ranked by their measured impact, search/ranked.py, the
default; topological: bisection in graph order), batch, calibration,
input_shapes. Details: the kept nodes, the nodes the policy
already keeps (`fixed`), the rules block to paste, evaluations, shares of
nodes and FLOPs per precision of the graph the run will build, sensitivity,
and on an evaluation cap how far from minimal the answer may be.
"""
from __future__ import annotations

import json
import time
from collections import Counter

from ..contract.vocabulary import INIT_OVERFLOW, RANGE_OVERFLOW, REDUCTION_DEPTH, SEARCH_FALLBACK
from ..errors import UserError
from ..model.flops import flop_shapes, node_flops
from ..model.load import load_model
from ..model.tensors import graph_inputs
from ..precision.opset import convert_opset, working_opset
from ..precision.policy import parse_policy, resolve
from ..precision.types import NOT_FLOAT
from ..search.budget import Budget
from ..search.candidate import CandidateGraph
from ..search.evaluator import CandidateEvaluator
from ..search.impacts import candidate_impacts
from ..search.strategy import search
from . import json_inputs
from .common import batch_size, load_dataset, load_npz_artifact
from .context import StageContext, StageOutput
from .json_inputs import ranges_absmax

SAFETY_REASONS = (INIT_OVERFLOW, RANGE_OVERFLOW, REDUCTION_DEPTH)


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    t0 = time.perf_counter()
    model = load_model(ctx.model_path("model"), with_data=True)
    opset = working_opset(model, p.policy)
    if opset is not None:
        model = convert_opset(model, opset)
    towards = p.policy.default
    budget = Budget.parse(p.budget)
    ranges = ranges_absmax(ctx) if ctx.has_input("ranges") else None
    # The policy exactly as the transform applies it (rules and safety rules): the search
    # only decides among the nodes that policy lowers, and each candidate is that policy
    # plus its kept nodes (policy.apply_search_keep), so what it measures is what runs.
    policy = parse_policy(p.policy, search_keep=[])
    base = resolve(model, policy, ranges)
    scales = json_inputs.scales(ctx)
    per_channel = p.calibration.per_channel
    graph = CandidateGraph(model, base, towards, keep_io=policy.io == "keep", amax=scales.get("tensors"), per_channel=per_channel,
                           smoothing=(scales.get("smoothing") or {}).get("factors"), unquantized=policy.unquantized)
    candidates = graph.candidates
    if not candidates:
        raise UserError(f"no node can be lowered to {towards}: nothing to search", code="NOTHING_TO_SEARCH")
    specs = graph_inputs(model)
    data = load_dataset(ctx, "eval_data", specs)
    reference = load_npz_artifact(ctx, "reference")
    evaluator_name = p.evaluator
    if evaluator_name == "auto":
        # The GPU evaluator where a GPU and PyTorch are there; ONNX Runtime (emulated) elsewhere.
        from ..capabilities import probe_torch

        evaluator_name = "torch" if probe_torch().available else "onnxruntime"
    cache_dir = ctx.store.root / "search-cache"
    cache_dir.mkdir(exist_ok=True)
    settings = p.settings.to_json() if p.settings is not None else {}
    identity = json.dumps([ctx.inputs.get("model"), ctx.inputs.get("eval_data"), ctx.inputs.get("reference"),
                           ctx.inputs.get("scales"), evaluator_name, opset,
                           policy.io, per_channel, settings, policy.unquantized])
    evaluate = CandidateEvaluator(graph, data, reference, evaluator_name, settings,
                                  ctx.scratch(), cache_dir, identity, ctx.cancel, batch_size(ctx, specs))
    max_evals = p.max_evaluations
    impact: dict[str, float] | None = None
    impact_details: dict = {}
    if p.ranking == "impact":
        ctx.progress(0.01, f"measuring the impact of {len(candidates)} candidates")
        impact, impact_details = candidate_impacts(evaluate, model, budget, ctx.cancel,
                                                   log=lambda m, level="info": ctx.log(m, level))
    outcome = search(evaluate, budget, candidates, set(), max_evals,
                     progress=lambda n, k, ok: ctx.progress(min(0.95, n / max_evals),
                                                            f"candidate {n}: {k} kept, {'meets' if ok else 'misses'} the budget"),
                     impact=impact)
    final = graph.decisions(frozenset(outcome.kept))
    # What the lockfile will show: the kept candidates and the exact ops that follow them.
    kept = [d.node for d in final if d.reason == SEARCH_FALLBACK]
    shares = precision_shares(final, node_flops(model, flop_shapes(p.input_shapes, data)))
    towards_share = shares.get(towards, {"nodes": 0, "flops": 0.0, "node_share": 0.0})
    # Nodes asking for `towards` that the policy itself keeps wider, by reason (safety rules, no kernel type, ...).
    kept_wider = Counter(d.reason for d in base if d.requested == towards and d.resolved not in (towards, NOT_FLOAT))
    fixed = dict(sorted(kept_wider.items()))
    out = StageOutput()
    out.details = {
        "towards": towards,
        "budget": {k: v for k, v in vars(budget).items() if v is not None},
        "kept": kept,
        "kept_candidates": len(outcome.kept),
        "candidates": len(candidates),
        "fixed": fixed,
        "evaluations": evaluate.evaluations,
        "lookups": evaluate.lookups,
        "exhausted": outcome.exhausted,
        "at_least": outcome.at_least,
        "untried": outcome.untried,
        "strategy": outcome.strategy,
        "impact": impact or {},
        "localize": impact_details,
        "metrics": outcome.metrics,
        "blanket_metrics": outcome.blanket,
        "all_high_metrics": outcome.all_high,
        "sensitivity": outcome.sensitivity,
        "trace": outcome.trace,
        "shares": shares,
        "low_nodes_share": towards_share["node_share"],
        "low_flops_share": towards_share["flops"],
        "rules_yaml": rules_block(kept, budget, towards, fixed),
        "seconds": time.perf_counter() - t0,
        "evaluator": evaluator_name,
    }
    out.outputs["result"] = ctx.save_json({"towards": towards, "kept": kept})
    out.metrics = {"kept": float(len(kept)), "evaluations": float(evaluate.evaluations),
                   "low_nodes_share": out.details["low_nodes_share"], "low_flops_share": out.details["low_flops_share"]}
    return out


def precision_shares(decisions: list, flops: dict[str, int]) -> dict[str, dict[str, float]]:
    """Per resolved precision: nodes, share of the nodes that do float math, share of their FLOPs.

    Both shares add up to 1 over the precisions (nodes without float math are left out).
    """
    float_nodes = [d for d in decisions if d.resolved != NOT_FLOAT]
    total_flops = sum(flops.get(d.node, 0) for d in float_nodes)
    nodes = Counter(d.resolved for d in float_nodes)
    flops_by: Counter[str] = Counter()
    for d in float_nodes:
        flops_by[d.resolved] += flops.get(d.node, 0)
    out = {p: {"nodes": n, "node_share": n / len(float_nodes),
               "flops": flops_by[p] / total_flops if total_flops else 0.0} for p, n in nodes.items()}
    return dict(sorted(out.items()))


def rules_block(kept: list[str], budget: Budget, towards: str, fixed: dict[str, int] | None = None) -> str:
    """A `precision.rules` entry to paste into the pipeline.

    The search measured the pipeline's policy plus these nodes: the safety rules
    it ran with keep their own nodes, which the block says rather than repeats.
    """
    safety = {r: n for r, n in (fixed or {}).items() if r in SAFETY_REASONS}
    note = (f"    # measured with the pipeline's safety rules, which keep {sum(safety.values())} more node(s) in fp32 "
            f"({', '.join(f'{r} {n}' for r, n in safety.items())}): leave them on\n") if safety else ""
    if not kept:
        return note + f"    # nothing else needs fp32 to meet the budget in {towards}: no rule needed\n"
    why = ", ".join(f"{k} {v}" for k, v in vars(budget).items() if v is not None)
    names = "\n".join(f'        - "{_glob_escape(n)}"' for n in kept)
    return (f"{note}    - match:\n        name:\n{names}\n      use: fp32\n"
            f"      why: kept by trtpipe search to meet the budget ({why})\n")


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


