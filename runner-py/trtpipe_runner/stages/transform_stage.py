"""transform: precision policy (+ activation ranges, + calibration scales,
+ a search result) -> precision-annotated ONNX model and one lock row per node.

FLOPs per node are counted by the reference stage, which knows the shapes the
evaluation runs at (model/flops.py)."""
from __future__ import annotations

from collections import Counter

from ..model.external import save_with_external_data
from ..model.load import load_model, opset_version
from ..model.manifest import is_model_manifest
from ..precision.annotate import check_annotated
from ..precision.apply import annotated_model
from ..precision.opset import convert_opset, working_opset
from ..precision.policy import parse_policy, resolve, unmatched_search_keep
from ..precision.types import LOWERED, NOT_FLOAT
from . import json_inputs
from .context import Output, StageContext, StageOutput
from .json_inputs import ranges_absmax, search_keep

PROTOBUF_LIMIT = 2 << 30  # bytes one serialized message may have


def save_annotated(ctx: StageContext, annotated, external: bool) -> Output:
    """The annotated model as the input was: one file, or (a model with external data,
    or one past protobuf's 2 GB) a .onnx with its tensors in `model.onnx.data`."""
    if external or annotated.ByteSize() >= PROTOBUF_LIMIT - (64 << 20):
        return ctx.save_model(save_with_external_data(annotated, ctx.scratch() / "annotated" / "model.onnx"))
    return ctx.save_bytes(annotated.SerializeToString(), "application/onnx")


def run(ctx: StageContext) -> StageOutput:
    # Annotation converts and quantizes weights: a model with external data is read whole.
    model = load_model(ctx.model_path("model"), with_data=True)
    p = ctx.params
    keep = None
    if ctx.has_input("search"):  # a search run in this pipeline: its kept nodes stay fp32
        keep = search_keep(ctx)
    policy = parse_policy(p.policy, search_keep=keep)
    opset = working_opset(model, p.policy)
    if opset is not None:
        model = convert_opset(model, opset)
    ranges = ranges_absmax(ctx) if ctx.has_input("ranges") else None
    decisions = resolve(model, policy, ranges)
    ctx.progress(0.3, "resolved policy")
    out = StageOutput()
    stale = unmatched_search_keep(decisions, policy.search_keep)
    if stale:
        # The search result names nodes this policy does not lower: it was made for another policy.
        out.diagnostics.append({"level": "warning", "code": "SEARCH_RESULT_STALE", "message":
                                f"the search result keeps {len(stale)} node(s) the policy does not lower "
                                f"({', '.join(stale[:4])}{', ...' if len(stale) > 4 else ''}); run the search again"})
    scales = json_inputs.scales(ctx)
    per_channel = p.calibration.per_channel
    annotated, counts = annotated_model(model, decisions, policy.io == "keep", scales.get("tensors"), per_channel,
                                       (scales.get("smoothing") or {}).get("factors"), policy.unquantized)
    check_annotated(annotated)
    ctx.progress(0.8, "annotated graph checked")
    annotated.producer_name = "trtpipe"
    out.outputs["model"] = save_annotated(ctx, annotated, external=is_model_manifest(ctx.input_path("model")))
    out.details["lock"] = [d.to_json() for d in decisions]
    out.details["inserted"] = counts
    out.details["opset"] = opset_version(annotated)
    resolved = Counter(d.resolved for d in decisions)
    out.details["resolved_counts"] = dict(sorted(resolved.items()))
    float_nodes = sum(n for precision, n in resolved.items() if precision != NOT_FLOAT)
    out.metrics["nodes_float"] = float(float_nodes)
    out.metrics["nodes_low_precision"] = float(sum(n for precision, n in resolved.items() if precision in LOWERED))
    out.metrics["casts_inserted"] = float(counts["casts"])
    ctx.progress(1.0, "done")
    return out
