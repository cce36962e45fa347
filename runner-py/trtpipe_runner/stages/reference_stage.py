"""reference: the model in true FP32 on the evaluation (and calibration) data.

Outputs:
- `reference`: .npz of every graph output over the evaluation data, the
  baseline every precision is compared against;
- `ranges`: JSON {tensor: max |value|} over the calibration data for every
  FP32 tensor in the graph, which the safety rules (data_max) read;
- details `node_flops`: FLOPs per node at the shapes the pipeline runs (the
  declared `input_shapes` opt, else one evaluation sample), for the shares
  explain and the reports show.
The reference outputs come from ONNX Runtime CPU with graph optimizations
off, so nothing is fused; CPUs have no TF32, so this is IEEE FP32 throughout.
The ranges run where calibration runs (a CUDA GPU with TF32 off when the
runner's torch has one; details.ranges_device says which).
"""
from __future__ import annotations

import numpy as np
import onnx

from ..backends.onnxruntime.session import make_session, ort_version, run_batches
from ..calibration.observe import Observer, pick_device
from ..errors import UserError
from ..evaluation.metrics import top1_accuracy
from ..model.external import beside
from ..model.flops import flop_shapes, node_flops
from ..model.load import load_model
from ..model.tensors import graph_inputs, tensor_types
from .common import batch_size, load_dataset, npz_bytes
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    model_path = ctx.model_path("model")
    model = load_model(model_path)
    specs = graph_inputs(model)
    bs = batch_size(ctx, specs)
    out = StageOutput()
    out.details["backend"] = {"name": "onnxruntime", "version": ort_version(), "device": "cpu", "precision": "fp32"}

    if not ctx.has_input("eval_data") and not ctx.has_input("calib_data"):
        raise UserError("reference needs eval_data and/or calib_data", code="STAGE_INPUT_MISSING")
    if ctx.has_input("eval_data"):
        evald = load_dataset(ctx, "eval_data", specs)
        out.details["eval_data"] = evald.summary()
        out.details["node_flops"] = node_flops(model, flop_shapes(ctx.params.input_shapes, evald))
        with beside(model, model_path, "reference") as source:
            session = make_session(source, opt_level="disable", threads=ctx.params.threads)
        nb = -(-evald.count // bs)
        ref = run_batches(session, evald.batches(bs), ctx.cancel,
                          on_batch=lambda i: ctx.progress(0.5 * (i + 1) / nb, "reference outputs"))
        out.outputs["reference"] = ctx.save_bytes(npz_bytes(ref), "application/x-npz")
        if evald.labels is not None:
            first = next(iter(ref.values()))
            out.metrics["top1"] = top1_accuracy(first, evald.labels)
            out.details["labels"] = True

    if ctx.has_input("calib_data"):
        calib = load_dataset(ctx, "calib_data", specs)
        out.details["calib_data"] = calib.summary()
        ranges, out.details["ranges_device"] = tensor_ranges(model, model_path, calib, bs, ctx)
        out.outputs["ranges"] = ctx.save_json(ranges)
        out.metrics["max_abs_activation"] = max((r["absmax"] for r in ranges.values()), default=0.0)
    ctx.progress(1.0, "done")
    return out


def tensor_ranges(model, model_path, dataset, bs: int, ctx: StageContext) -> tuple[dict[str, dict[str, float]], str]:
    """min, max and max |x| of every FP32 tensor over `dataset` (finite values only), and the device.

    The model runs once, with every tensor exposed, where calibration runs (calibration/observe.py:
    a CUDA GPU through the torch backend when the runner has one, else ONNX Runtime on the CPU),
    and each tensor is reduced to two numbers as its batch comes.
    """
    types = tensor_types(model)
    inits = {i.name for i in model.graph.initializer}
    names = [t for node in model.graph.node for t in node.output
             if t and types.get(t) == onnx.TensorProto.FLOAT and t not in inits]
    names += [s.name for s in graph_inputs(model) if types.get(s.name) == onnx.TensorProto.FLOAT]
    names = list(dict.fromkeys(names))
    device = pick_device(ctx.params.device)
    obs = Observer(model, names, device, ctx.cancel, model_path=model_path)
    lo = {n: np.inf for n in names}
    hi = {n: -np.inf for n in names}
    nb = -(-dataset.count // bs)
    for i, feed in enumerate(dataset.batches(bs)):
        got = obs.run(feed)
        for n in names:
            a, b = obs.ops.finite_minmax(got[n])
            lo[n], hi[n] = min(lo[n], a), max(hi[n], b)
        del got
        ctx.progress(0.5 + 0.5 * (i + 1) / nb, "activation ranges")
    if obs.fallback:
        ctx.log(f"activation ranges on the CPU with ONNX Runtime: {obs.fallback}", "warning")
    return {
        n: {"min": lo[n], "max": hi[n], "absmax": max(abs(lo[n]), abs(hi[n]))}
        for n in names if np.isfinite(lo[n])
    }, obs.device
