"""calibrate: calibration data -> a symmetric threshold per quantized activation.

Params (contract/stages/calibrate.schema.json): method (minmax | entropy |
percentile), percentile, smoothing ({alpha} or absent), device (auto | cpu |
cuda[:N]; auto takes a CUDA GPU when the runner's torch sees one), batch, calib_data.

Output `scales`: JSON {method, percentile, samples, device, tensors: {name: amax},
smoothing: {alpha, factors: {name: [s per channel]}} (only when smoothing)},
cached by model, data, method and runner through the stage key. For a smoothed
tensor X the threshold is that of X / s. The transform stage turns thresholds
into Q/DQ scales for INT8 (amax/127) or FP8 E4M3 (amax/448).
"""
from __future__ import annotations

import time

from ..calibration.collect import calibrate
from ..calibration.observe import pick_device
from ..calibration.ranges import quantized_inputs, residual_inputs
from ..errors import UserError
from ..model.load import load_model
from ..model.tensors import graph_inputs
from .common import batch_size, load_dataset
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    model_path = ctx.model_path("model")
    p = ctx.params
    alpha = p.smoothing.alpha if p.smoothing is not None else None
    model = load_model(model_path)
    specs = graph_inputs(model)
    data = load_dataset(ctx, "calib_data", specs)
    bs = batch_size(ctx, specs)
    method, percentile = p.method, p.percentile
    device = pick_device(p.device)
    tensors = quantized_inputs(model)
    if not tensors:
        raise UserError("the model has no Conv, ConvTranspose, Gemm or MatMul with an activation input to quantize",
                        code="NOTHING_TO_QUANTIZE")
    tensors += [t for t in residual_inputs(model) if t not in tensors]
    ctx.progress(0.02, f"{method} calibration of {len(tensors)} tensors over {data.count} samples on {device}")
    t0 = time.perf_counter()
    result = calibrate(model, tensors, lambda: data.batches(bs), method, percentile, device, ctx.cancel, alpha,
                       progress=ctx.progress, total=-(-data.count // bs), model_path=model_path)
    seconds = time.perf_counter() - t0
    if result.fallback:
        ctx.log(f"calibrated on the CPU with ONNX Runtime: {result.fallback}", "warning")
    doc = {"method": method, "percentile": percentile if method == "percentile" else None,
           "samples": data.count, "device": result.device, "tensors": result.amax}
    if alpha is not None:
        doc["smoothing"] = {"alpha": alpha, "factors": result.smoothing}
    out = StageOutput()
    out.outputs["scales"] = ctx.save_json(doc)
    out.details = {"method": method, "samples": data.count, "tensors": len(result.amax), "device": result.device,
                   "passes": result.passes, "seconds": round(seconds, 3), "calib_data": data.summary(),
                   **({"smoothed_tensors": len(result.smoothing), "alpha": alpha} if alpha is not None else {})}
    out.metrics = {"tensors": float(len(result.amax)), "samples": float(data.count), "calibrate_seconds": seconds}
    ctx.progress(1.0, "done")
    return out
