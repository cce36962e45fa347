"""reference: the model in true FP32 on the evaluation (and calibration) data.

Outputs:
- `reference`: .npz of every graph output over the evaluation data, the
  baseline every precision is compared against;
- `ranges`: JSON {tensor: max |value|} over the calibration data for every
  FP32 tensor in the graph, which the safety rules (data_max) read;
- details `node_flops`: FLOPs per node at the shapes the pipeline runs (the
  declared `input_shapes` opt, else one evaluation sample), for the shares
  explain and the reports show.
ONNX Runtime CPU runs with graph optimizations off, so every tensor exists
and nothing is fused; CPUs have no TF32, so this is IEEE FP32 throughout.
"""
from __future__ import annotations

import numpy as np
import onnx

from ..backends.onnxruntime.session import make_session, ort_version, run_batches
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
        out.details["node_flops"] = node_flops(model, flop_shapes(ctx.params.get("input_shapes"), evald))
        with beside(model, model_path, "reference") as source:
            session = make_session(source, opt_level="disable", threads=int(ctx.params.get("threads", 0)))
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
        ranges = tensor_ranges(model, model_path, calib, bs, ctx)
        out.outputs["ranges"] = ctx.save_json(ranges)
        out.metrics["max_abs_activation"] = max((r["absmax"] for r in ranges.values()), default=0.0)
    ctx.progress(1.0, "done")
    return out


def tensor_ranges(model, model_path, dataset, bs: int, ctx: StageContext) -> dict[str, dict[str, float]]:
    """min, max and max |x| of every FP32 tensor over `dataset`."""
    types = tensor_types(model)
    inits = {i.name for i in model.graph.initializer}
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    existing = {o.name for o in probe.graph.output}
    names = []
    for node in probe.graph.node:
        for t in node.output:
            if t and types.get(t) == onnx.TensorProto.FLOAT and t not in inits:
                names.append(t)
                if t not in existing:
                    probe.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    names += [s.name for s in graph_inputs(model) if types.get(s.name) == onnx.TensorProto.FLOAT]
    with beside(probe, model_path, "probe") as source:
        session = make_session(source, opt_level="disable")
    lo = {n: np.inf for n in names}
    hi = {n: -np.inf for n in names}
    nb = -(-dataset.count // bs)
    import onnxruntime as ort

    run_options = ort.RunOptions()
    ctx.cancel.on_cancel(lambda: setattr(run_options, "terminate", True))
    out_names = [o.name for o in session.get_outputs()]
    for i, feed in enumerate(dataset.batches(bs)):
        ctx.cancel.check()
        results = dict(zip(out_names, session.run(out_names, feed, run_options)))
        results.update(feed)
        for n in names:
            arr = results.get(n)
            if arr is None or arr.size == 0:
                continue
            finite = arr[np.isfinite(arr)] if not np.all(np.isfinite(arr)) else arr
            if finite.size:
                lo[n] = min(lo[n], float(finite.min()))
                hi[n] = max(hi[n], float(finite.max()))
        ctx.progress(0.5 + 0.5 * (i + 1) / nb, "activation ranges")
    return {
        n: {"min": lo[n], "max": hi[n], "absmax": max(abs(lo[n]), abs(hi[n]))}
        for n in names if np.isfinite(lo[n])
    }
