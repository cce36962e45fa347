"""search: the fewest nodes to keep in high precision that still meet the budget.

Inputs: model, eval_data, reference (+ ranges for the safety-rule prior,
+ scales for int8/fp8). Params: policy (default = the precision searched
towards), budget, max_evaluations, evaluator (onnxruntime: emulated numerics;
torch: the GPU evaluator), batch. Details: the kept nodes, the rules block to
paste, evaluations, shares of nodes and FLOPs in low precision, sensitivity.
"""
from __future__ import annotations

import json
import time


from ..errors import UserError
from ..model.flops import node_flops
from ..model.load import load_model
from ..model.tensors import graph_inputs
from ..precision.opset import convert_opset
from ..precision.policy import parse_policy, resolve
from ..search.budget import Budget
from ..search.evaluator import CandidateEvaluator
from ..search.strategy import search
from .common import batch_size, load_dataset, load_npz_artifact
from .context import StageContext, StageOutput

SAFETY = ("INIT_OVERFLOW", "RANGE_OVERFLOW", "REDUCTION_DEPTH")
# Ops whose output is exact given their (already rounded) inputs: moving data,
# selecting or comparing values adds no rounding error of its own, so keeping
# them in high precision cannot help a budget. They are not search candidates.
EXACT_OPS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Split", "Concat", "Gather",
             "GatherElements", "GatherND", "Slice", "Identity", "Expand", "Tile", "Pad", "DepthToSpace",
             "SpaceToDepth", "Relu", "MaxPool", "Neg", "Abs", "Max", "Min", "Where", "Dropout"}


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    t0 = time.perf_counter()
    model = load_model(ctx.model_path("model"), with_data=True)
    policy_params = dict(p.get("policy") or {})
    if policy_params.get("opset"):
        model = convert_opset(model, int(policy_params["opset"]))
    towards = policy_params.get("default", "fp16")
    budget = Budget.parse(p.get("budget") or {})
    ranges = None
    if ctx.has_input("ranges"):
        ranges = {k: v["absmax"] for k, v in json.loads(ctx.input_path("ranges").read_text()).items()}
    # Base: everything the policy allows in low precision, safety rules off; prior: what they keep.
    unsafe = parse_policy({**policy_params, "safety": {"init_max": None, "data_max": None}})
    base = resolve(model, unsafe, None)
    safe = {d.node: d for d in resolve(model, parse_policy(policy_params), ranges)}
    candidates = [d.node for d in base if d.resolved == towards and d.rule is None and d.op not in EXACT_OPS]
    prior = {n for n in candidates if safe[n].reason in SAFETY}
    if not candidates:
        raise UserError(f"no node can be lowered to {towards}: nothing to search", code="NOTHING_TO_SEARCH")
    specs = graph_inputs(model)
    data = load_dataset(ctx, "eval_data", specs)
    reference = load_npz_artifact(ctx, "reference")
    scales = json.loads(ctx.input_path("scales").read_text()) if ctx.has_input("scales") else {}
    amax = scales.get("tensors")
    evaluator_name = p.get("evaluator", "auto")
    if evaluator_name == "auto":
        # The GPU evaluator where a GPU and PyTorch are there; ONNX Runtime (emulated) elsewhere.
        from ..capabilities import probe_torch

        evaluator_name = "torch" if probe_torch().available else "onnxruntime"
    cache_dir = ctx.store.root / "search-cache"
    cache_dir.mkdir(exist_ok=True)
    identity = json.dumps([ctx.inputs.get("model"), ctx.inputs.get("eval_data"), ctx.inputs.get("reference"),
                           ctx.inputs.get("scales"), evaluator_name, policy_params.get("opset")])
    evaluate = CandidateEvaluator(model, base, data, reference, evaluator_name, p.get("settings") or {},
                                  ctx.scratch(), cache_dir, identity, ctx.cancel, amax, batch_size(ctx, specs),
                                  smoothing=(scales.get("smoothing") or {}).get("factors"))
    max_evals = int(p.get("max_evaluations", 64))
    outcome = search(evaluate, budget, candidates, prior, max_evals,
                     progress=lambda n, k, ok: ctx.progress(min(0.95, n / max_evals),
                                                            f"candidate {n}: {k} kept, {'meets' if ok else 'misses'} the budget"))
    flops = node_flops(model)
    kept = set(outcome.kept)
    low_nodes = [d.node for d in base if d.resolved == towards and d.node not in kept]
    float_nodes = [d.node for d in base if d.resolved != "-"]
    total_flops = sum(flops.get(n, 0) for n in float_nodes) or 1
    out = StageOutput()
    out.details = {
        "towards": towards,
        "budget": {k: v for k, v in vars(budget).items() if v is not None},
        "kept": outcome.kept,
        "prior": outcome.prior,
        "candidates": len(candidates),
        "evaluations": evaluate.evaluations,
        "lookups": evaluate.lookups,
        "exhausted": outcome.exhausted,
        "metrics": outcome.metrics,
        "blanket_metrics": outcome.blanket,
        "all_high_metrics": outcome.all_high,
        "prior_metrics": outcome.prior_metrics,
        "sensitivity": outcome.sensitivity,
        "trace": outcome.trace,
        "low_nodes_share": len(low_nodes) / max(1, len(float_nodes)),
        "low_flops_share": sum(flops.get(n, 0) for n in low_nodes) / total_flops,
        "rules_yaml": rules_block(outcome.kept, budget, towards),
        "seconds": time.perf_counter() - t0,
        "evaluator": evaluator_name,
    }
    out.outputs["result"] = ctx.save_json({"towards": towards, "kept": outcome.kept})
    out.metrics = {"kept": float(len(outcome.kept)), "evaluations": float(evaluate.evaluations),
                   "low_nodes_share": out.details["low_nodes_share"], "low_flops_share": out.details["low_flops_share"]}
    return out


def rules_block(kept: list[str], budget: Budget, towards: str) -> str:
    """A `precision.rules` entry to paste into the pipeline."""
    if not kept:
        return f"# every node meets the budget in {towards}: no rule needed\n"
    why = ", ".join(f"{k} {v}" for k, v in vars(budget).items() if v is not None)
    names = "\n".join(f'        - "{_glob_escape(n)}"' for n in kept)
    return (f"    - match:\n        name:\n{names}\n      use: fp32\n"
            f"      why: kept by trtpipe search to meet the budget ({why})\n")


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


