"""evaluate: accuracy of the built model against the FP32 reference.

Params `metrics` (the pipeline's evaluate.metrics plus those its tolerances
name) and `output_metrics` ({output: metrics its own tolerances name}) choose
the metrics that only fit some models: top1_agreement (classifiers) and
nn_agreement (embeddings); the error metrics are always computed.
"""
from __future__ import annotations

from ..backends import get_backend
from ..errors import UserError
from ..evaluation.metrics import aggregate, compare, top1_accuracy
from .common import batch_size, load_dataset, load_npz_artifact, run_session
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    session = get_backend(p.backend).load(ctx.model_path("engine"), p.to_json())
    try:
        specs = session.inputs()
        data = load_dataset(ctx, "eval_data", specs)
        reference = load_npz_artifact(ctx, "reference")
        bs = batch_size(ctx, specs)
        got = run_session(session, data, bs, ctx, "evaluating")
    finally:
        session.close()
    wanted = set(p.metrics)
    per_output_wanted = p.output_metrics or {}
    per_output = {}
    for name, ref in reference.items():
        if name not in got:
            raise UserError(f"the built model has no output '{name}' that the reference has", code="OUTPUT_MISSING")
        these = wanted | set(per_output_wanted.get(name, []))
        per_output[name] = compare(got[name], ref, top1="top1_agreement" in these, nearest="nn_agreement" in these)
    out = StageOutput()
    out.metrics = aggregate(per_output)
    first = next(iter(reference))
    if data.labels is not None:
        out.metrics["top1"] = top1_accuracy(got[first], data.labels)
        out.metrics["reference_top1"] = top1_accuracy(reference[first], data.labels)
    out.metrics["samples"] = float(data.count)
    out.details = {"outputs": per_output, "samples": data.count, "batch": bs}
    return out
