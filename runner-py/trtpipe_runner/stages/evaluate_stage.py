"""evaluate: accuracy of the built model against the FP32 reference."""
from __future__ import annotations

from ..backends.onnxruntime.session import make_session, run_batches
from ..errors import UserError
from ..evaluation.metrics import aggregate, compare, top1_accuracy
from ..model.tensors import TensorSpec
from .common import batch_size, load_dataset, load_npz_artifact
from .context import StageContext, StageOutput


def run(ctx: StageContext) -> StageOutput:
    session = make_session(ctx.input_path("engine"), opt_level=ctx.params.get("opt_level", "all"),
                           threads=int(ctx.params.get("threads", 0)))
    specs = [TensorSpec(i.name, _np_dtype(i.type), tuple(d if isinstance(d, int) else "?" for d in i.shape))
             for i in session.get_inputs()]
    data = load_dataset(ctx, "eval_data", specs)
    reference = load_npz_artifact(ctx, "reference")
    bs = batch_size(ctx, specs)
    nb = -(-data.count // bs)
    got = run_batches(session, data.batches(bs), ctx.cancel,
                      on_batch=lambda i: ctx.progress((i + 1) / nb, f"batch {i + 1}/{nb}"))
    per_output = {}
    for name, ref in reference.items():
        if name not in got:
            raise UserError(f"the built model has no output '{name}' that the reference has", code="OUTPUT_MISSING")
        per_output[name] = compare(got[name], ref)
    out = StageOutput()
    out.metrics = aggregate(per_output)
    first = next(iter(reference))
    if data.labels is not None:
        out.metrics["top1"] = top1_accuracy(got[first], data.labels)
        out.metrics["reference_top1"] = top1_accuracy(reference[first], data.labels)
    out.metrics["samples"] = float(data.count)
    out.details = {"outputs": per_output, "samples": data.count, "batch": bs}
    return out


def _np_dtype(ort_type: str) -> str:
    return {
        "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
        "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
        "tensor(bool)": "bool",
    }.get(ort_type, ort_type)
