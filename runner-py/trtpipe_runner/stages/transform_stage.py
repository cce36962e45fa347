"""transform: precision policy (+ activation ranges, + calibration scales) ->
precision-annotated ONNX model and one lock row per node."""
from __future__ import annotations

import json
from collections import Counter

from ..errors import UserError
from ..model.flops import node_flops
from ..model.load import load_model, opset_version
from ..precision.annotate import annotate, check_annotated
from ..precision.opset import convert_opset
from ..precision.policy import parse_policy, resolve
from ..precision.qdq import insert_qdq
from ..precision.types import QUANTIZED
from ..model.external import save_with_external_data
from ..model.manifest import is_model_manifest
from .context import Output, StageContext, StageOutput

LOW = ("fp16", "bf16", "int8", "fp8")
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
    params = dict(ctx.params.get("policy") or {})
    if ctx.has_input("search"):  # a search run in this pipeline: its kept nodes stay fp32
        params["search_keep"] = json.loads(ctx.input_path("search").read_text())["kept"]
    policy = parse_policy(params)
    if params.get("opset"):
        model = convert_opset(model, int(params["opset"]))
    ranges = None
    if ctx.has_input("ranges"):
        raw = json.loads(ctx.input_path("ranges").read_text())
        ranges = {k: v["absmax"] for k, v in raw.items()}
    decisions = resolve(model, policy, ranges)
    ctx.progress(0.3, "resolved policy")
    annotated, counts = annotate(model, decisions, keep_io=policy.io == "keep")
    if any(d.resolved in QUANTIZED for d in decisions):
        if not ctx.has_input("scales"):
            raise UserError("int8/fp8 nodes need calibration: add data.calibration to the pipeline",
                            code="CALIBRATION_MISSING")
        scales = json.loads(ctx.input_path("scales").read_text())
        per_channel = bool((ctx.params.get("calibration") or {}).get("per_channel", True))
        counts.update(insert_qdq(annotated, decisions, scales["tensors"], per_channel, opset_version(annotated),
                                 (scales.get("smoothing") or {}).get("factors")))
    check_annotated(annotated)
    ctx.progress(0.8, "annotated graph checked")
    annotated.producer_name = "trtpipe"
    out = StageOutput()
    out.outputs["model"] = save_annotated(ctx, annotated, external=is_model_manifest(ctx.input_path("model")))
    out.details["lock"] = [d.to_json() for d in decisions]
    out.details["inserted"] = counts
    out.details["opset"] = opset_version(annotated)
    resolved = Counter(d.resolved for d in decisions)
    out.details["resolved_counts"] = dict(sorted(resolved.items()))
    flops = node_flops(model)
    by_precision: Counter = Counter()
    for d in decisions:
        by_precision[d.resolved] += flops.get(d.node, 0)
    out.details["flops"] = dict(sorted(by_precision.items()))
    out.details["node_flops"] = {d.node: flops.get(d.node, 0) for d in decisions}
    total_flops = sum(by_precision.values()) or 1
    float_nodes = sum(n for p, n in resolved.items() if p != "-")
    out.metrics["nodes_float"] = float(float_nodes)
    out.metrics["nodes_low_precision"] = float(sum(n for p, n in resolved.items() if p in LOW))
    out.metrics["flops_low_precision_share"] = sum(f for p, f in by_precision.items() if p in LOW) / total_flops
    out.metrics["casts_inserted"] = float(counts["casts"])
    ctx.progress(1.0, "done")
    return out
