"""calibrate: calibration data -> a symmetric threshold per quantized activation.

Output `scales`: JSON {method, percentile, samples, tensors: {name: amax}},
cached by model, data and method through the stage key. The transform stage
turns thresholds into Q/DQ scales for INT8 (amax/127) or FP8 E4M3 (amax/448).
"""
from __future__ import annotations

from ..calibration.ranges import quantized_inputs, thresholds
from ..errors import UserError
from ..model.load import load_model
from ..model.tensors import graph_inputs
from .common import batch_size, load_dataset
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    model_path = ctx.model_path("model")
    model = load_model(model_path)
    specs = graph_inputs(model)
    data = load_dataset(ctx, "calib_data", specs)
    bs = batch_size(ctx, specs)
    method = ctx.params.get("method", "entropy")
    percentile = float(ctx.params.get("percentile", 99.99))
    tensors = quantized_inputs(model)
    if not tensors:
        raise UserError("the model has no Conv, ConvTranspose, Gemm or MatMul with an activation input to quantize",
                        code="NOTHING_TO_QUANTIZE")
    nb = -(-data.count // bs)
    ctx.progress(0.05, f"{method} calibration over {data.count} samples")
    amax = thresholds(model_path, tensors, data.batches(bs), method, percentile, ctx.scratch(), ctx.cancel,
                      on_batch=lambda i: ctx.progress(0.05 + 0.85 * i / nb, f"batch {i}/{nb}"))
    missing = [t for t in tensors if t not in amax]
    if missing:
        raise UserError(f"calibration observed no values for {', '.join(missing[:5])}", code="CALIBRATION_INCOMPLETE")
    out = StageOutput()
    out.outputs["scales"] = ctx.save_json({"method": method, "percentile": percentile if method == "percentile" else None,
                                           "samples": data.count, "tensors": amax})
    out.details = {"method": method, "samples": data.count, "tensors": len(amax), "calib_data": data.summary()}
    out.metrics = {"tensors": float(len(amax)), "samples": float(data.count)}
    ctx.progress(1.0, "done")
    return out
