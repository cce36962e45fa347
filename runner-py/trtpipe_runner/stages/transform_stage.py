"""transform: precision policy (+ reference ranges) -> annotated ONNX + lock rows."""
from __future__ import annotations

import json
from collections import Counter



from ..errors import UnsupportedError
from ..model.load import load_model
from ..precision.annotate import annotate, check_annotated
from ..precision.policy import parse_policy, resolve
from ..precision.types import QUANTIZED
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    model = load_model(ctx.input_path("model"))
    policy = parse_policy(ctx.params.get("policy") or {})
    ranges = None
    if ctx.has_input("ranges"):
        raw = json.loads(ctx.input_path("ranges").read_text())
        ranges = {k: v["absmax"] for k, v in raw.items()}
    decisions = resolve(model, policy, ranges)
    if any(d.resolved in QUANTIZED for d in decisions):
        raise UnsupportedError("int8/fp8 need the calibrate stage, which this runner does not have yet",
                               code="QUANTIZATION_UNAVAILABLE")
    ctx.progress(0.3, "resolved policy")
    annotated, counts = annotate(model, decisions, keep_io=policy.io == "keep")
    check_annotated(annotated)
    ctx.progress(0.8, "annotated graph checked")
    annotated.producer_name = "trtpipe"
    out = StageOutput()
    out.outputs["model"] = ctx.save_bytes(annotated.SerializeToString(), "application/onnx")
    lock = [d.to_json() for d in decisions]
    out.details["lock"] = lock
    out.details["inserted"] = counts
    resolved = Counter(d.resolved for d in decisions)
    out.details["resolved_counts"] = dict(sorted(resolved.items()))
    float_nodes = sum(n for p, n in resolved.items() if p != "-")
    out.metrics["nodes_low_precision"] = float(sum(n for p, n in resolved.items() if p in ("fp16", "bf16", "int8", "fp8")))
    out.metrics["nodes_float"] = float(float_nodes)
    out.metrics["casts_inserted"] = float(counts["casts"])
    ctx.progress(1.0, "done")
    return out


