"""localize: where a low-precision build departs from FP32, node by node.

Inputs: model (the FP32 model), annotated (the transform's model: what the
cell builds), eval_data. Params (contract: localize.schema.json): build (the
cell's build params: the annotated model is built again as the cell builds
it), samples (from the first), batch, tolerance ({cosine}: where a node's
output counts as diverged), memory_mib, reference_device (where the FP32 side
runs: auto | cpu | cuda[:N]), mask (the input marking real positions; absent:
attention_mask where the model has it), impact_nodes (how many of the nodes
that add the most error get their impact on the outputs measured), eval_data.

Both graphs run on the samples with every float tensor captured (localize/);
per node of the FP32 graph: relative error, cosine, max abs error, NaN/Inf
count of its output, the error it adds and (for the worst) its impact on the outputs. Details: `nodes` (graph order),
`ranking` (by added error), `first_crossing`, `uncaptured` (node: why).
"""
from __future__ import annotations

from ..data.dataset import fixed_batch
from ..errors import UserError
from ..jsonsafe import sanitize
from ..localize.capture import localize
from ..localize.padding import DEFAULT_MASK
from ..model.load import load_model
from ..model.tensors import graph_inputs
from .common import batch_size, load_dataset
from .context import StageContext, StageOutput

RANKED = 20  # nodes listed in `ranking`; `nodes` has them all


def run(ctx: StageContext) -> StageOutput:
    p = ctx.params
    fp32_path = ctx.model_path("model")
    fp32 = load_model(fp32_path, with_data=True)
    low = load_model(ctx.model_path("annotated"), "annotated model", with_data=True)
    specs = graph_inputs(fp32)
    if p.mask is not None and p.mask not in {s.name for s in specs}:
        # Named by the user (evaluate.localize.mask): never silently count the padding.
        raise UserError(f"evaluate.localize.mask: '{p.mask}' is not an input of the model "
                        f"(inputs: {', '.join(s.name for s in specs)})", code="BAD_PARAM")
    data = load_dataset(ctx, "eval_data", specs)
    cosine = p.tolerance.cosine if p.tolerance is not None else None
    bs = batch_size(ctx, specs)
    result = localize(fp32, low, p.build.backend, p.build.to_json(), data, ctx.scratch(), ctx.cancel,
                      samples=p.samples, batch=bs, fixed_batch=fixed_batch(specs) is not None,
                      cosine_tolerance=cosine, memory_mib=p.memory_mib, fp32_path=fp32_path,
                      device=p.reference_device, mask=p.mask if p.mask is not None else DEFAULT_MASK,
                      impact_nodes=p.impact_nodes,
                      log=lambda m, level="info": ctx.log(m, level), progress=ctx.progress)
    a = result.attribution
    first = a.first_crossing
    out = StageOutput()
    out.details = sanitize({
        "nodes": [n.to_json() for n in a.nodes],
        "ranking": [n.node for n in a.ranked()[:RANKED]],
        "first_crossing": first.to_json() if first else None,
        "tolerance": {"cosine": cosine} if cosine is not None else {},
        "uncaptured": a.uncaptured,
        "samples": result.samples,
        "batches": result.batches,
        "reference_device": result.reference_device,
        "backend": p.build.backend,
        "capture": result.details,
        "seconds": round(result.seconds, 3),
    })
    out.metrics = {"localize_seconds": result.seconds, "nodes_measured": float(len(a.nodes)),
                   "nodes_uncaptured": float(len(a.uncaptured))}
    if first is not None:
        out.metrics["first_crossing_index"] = float(first.index)
    ctx.progress(1.0, "done")
    return out
