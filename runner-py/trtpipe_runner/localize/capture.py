"""Running the FP32 graph and the low-precision graph side by side with every float tensor captured.

The FP32 side runs where calibration observes (calibration/observe.py: ONNX
Runtime on the CPU, the torch backend on a CUDA GPU, TF32 off); the low side
is built by the backend under test with the tensors marked as outputs
(Backend.capture). Both run the same samples batch by batch and each tensor
pair is reduced to its statistics (stats.py) before the next batch, so memory
holds one batch of tensors at a time; the first batch is one sample, and the
batch size after it is what fits in `memory_mib`. Padded positions are left out (padding.py).
Then the impacts (impact.py) of the chosen nodes, on the samples that carry
most of the outputs' error: one more run of both graphs on those samples gives
each node's own error there.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

from ..backends import get_backend
from ..calibration.observe import Observer, pick_device
from ..cancel import CancelToken
from ..errors import UserError
from ..model.tensors import tensor_types
from .attribution import Attribution, attribute, float_outputs
from .impact import measure_impacts
from .padding import DEFAULT_MASK, mask_of, real_positions
from .shadow import LOW_PREFIX, shadow_inputs, shadow_model
from .stats import ShapeMismatch, TensorStats


@dataclass
class Localization:
    attribution: Attribution
    samples: int
    batches: int
    seconds: float
    reference_device: str
    details: dict = field(default_factory=dict)  # the backend's capture details (fused, unmarked, ...)


def localize(fp32: onnx.ModelProto, low: onnx.ModelProto, backend: str, settings: dict, dataset, scratch: Path,
             cancel: CancelToken, *, samples: int, batch: int, fixed_batch: bool = False,
             cosine_tolerance: float | None = None, memory_mib: int = 1024, fp32_path: Path | None = None,
             device: str = "auto", mask: str | None = DEFAULT_MASK, impact_nodes: list[str] | int = 0,
             impact_samples: int = 16, nodes: list[str] | None = None, log=None, progress=None) -> Localization:
    """Per-node error of `low` against `fp32` on the first `samples` samples of `dataset`.

    Args:
        fp32: the FP32 model (node names as in the annotated one); tensors in memory, or at `fp32_path`.
        low: the annotated model the run builds (policy, Q/DQ, casts), tensors in memory.
        backend, settings: the backend that builds and runs `low`, with the build's settings.
        dataset: the evaluation data (data.dataset.Dataset).
        scratch: a private folder for the low-precision build.
        samples: how many samples (from the first) to run.
        batch: the largest batch to run; `fixed_batch`: the model takes only this one.
        cosine_tolerance: where a node's output counts as diverged (attribution.attribute).
        memory_mib: the memory one batch of captured tensors (both sides) may take.
        device: where the FP32 side runs (auto | cpu | cuda[:N]).
        mask: the input that marks real positions (0/1 per [batch, position]); absent or None: none.
        impact_nodes: the nodes whose impact on the outputs to measure (impact.py), or how many of
            those that add the most error (of those that add any); on the first `impact_samples` samples.
        nodes: measure only these nodes (and the producers of the float tensors they read, which
            their own error needs); None: every node.
        log, progress: optional callables (message, level) and (fraction, message).
    """
    t0 = time.perf_counter()
    types = tensor_types(fp32)
    outputs = float_outputs(fp32, types)
    if nodes is not None:
        outputs = {n: ts for n, ts in outputs.items() if n in _with_producers(fp32, set(nodes))}
    ref_names = [t for ts in outputs.values() for t in ts]
    low_name = _low_names(fp32, low, outputs)
    missing = {t: "the low-precision graph has no such node" for t in ref_names if t not in low_name}
    cap = get_backend(backend).capture(low, scratch, settings, sorted(set(low_name.values())), cancel, log)
    got = set(cap.tensors)
    missing.update({t: cap.missing.get(low_name[t], "not returned") for t in low_name if low_name[t] not in got})
    pairs = [(t, low_name[t]) for t in ref_names if t in low_name and low_name[t] in got]
    measured = [t for t, _ in pairs]
    observer = Observer(fp32, measured, pick_device(device), cancel, model_path=fp32_path)
    if observer.fallback and log:
        log(f"FP32 side on the CPU with ONNX Runtime: {observer.fallback}", "warning")
    shadow = shadow_model(fp32, set(measured))
    cut = dict(pairs)
    # The shadow's cut inputs have no shapes: ONNX Runtime takes them from the feeds as they come.
    recompute = Observer(shadow, measured, "cpu", cancel, engine="onnxruntime", model_path=fp32_path)
    stats = {t: TensorStats() for t, _ in pairs}
    graph_outputs = {o.name for o in fp32.graph.output}
    sample_error: dict[str, list[np.ndarray]] = {t: [] for t, _ in pairs if t in graph_outputs}
    total = min(samples, dataset.count)
    # One sample first (a model that takes any batch): its tensors say how many samples fit in
    # `memory_mib`, before a full batch could overshoot it.
    done, batches, size = 0, 0, batch if fixed_batch else 1
    whole = None

    def run_both(feed):
        lowv = cap.session.run(feed)
        own = recompute.run({**feed, **{LOW_PREFIX + t: _as_fp32(lowv[cut[t]]) for t in shadow_inputs(shadow)}})
        return lowv, own

    try:
        cap.session.on_cancel(cancel)
        while done < total:
            cancel.check()
            n = size if fixed_batch else min(size, total - done)
            feed = {k: v[done:done + n] for k, v in dataset.inputs.items()}
            if fixed_batch and len(next(iter(feed.values()))) < n:
                break  # a fixed-batch model cannot run the short tail
            ref = observer.run(feed)
            lowv, own = run_both(feed)
            if impact_nodes and n == total <= impact_samples:
                whole = (feed, lowv, own)  # the one batch is every sample the impacts would take
            held = 0
            keep = mask_of(feed, mask)
            for t, lt in pairs:
                r = _host(ref[t])
                a = np.asarray(lowv[lt])
                held += r.nbytes + 2 * a.nbytes
                try:
                    stats[t].add(*real_positions(a, r, keep))
                    stats[t].add_own(*real_positions(a, own[t], keep))
                except ShapeMismatch as exc:
                    raise UserError(
                        f"tensor '{t}' has shape {exc.args[0]} in the low-precision graph but {exc.args[1]} in FP32: "
                        "a shape that depends on the data (NonZero, TopK, a computed Reshape) came out differently, so "
                        "the two runs cannot be compared node by node; localize a graph without such ops, or keep "
                        "the ops that compute the shape in fp32 (precision.rules)", code="LOCALIZE_SHAPE_MISMATCH") from None
                if t in sample_error:
                    sample_error[t].append(_squared_error_per_sample(a, r))
            del ref, lowv, own  # (`whole` keeps the one batch the impacts reuse)
            done, batches = done + n, batches + 1
            if not fixed_batch and batches == 1:
                per_sample = max(held // max(n, 1), 1)
                size = max(1, min(batch, (memory_mib << 20) // per_sample))
            if progress:
                progress(done / total, f"localizing: {done}/{total} samples")
        attribution = attribute(fp32, outputs, stats, missing, cosine_tolerance)
        if impact_nodes and done:
            chosen = ([n.node for n in attribution.ranked() if not n.added <= 0][:impact_nodes]  # NaN counts
                      if isinstance(impact_nodes, int) else [n for n in impact_nodes if n in outputs])
            # The impacts on the samples that carry the error (by the outputs', where they were measured).
            if whole is not None:
                feed, lowv, own = whole
            else:
                pick = _worst(sample_error, stats, done, size if fixed_batch else impact_samples, fixed_batch)
                feed = {k: v[:done][pick] for k, v in dataset.inputs.items()}
                lowv, own = run_both(feed)
            node_deltas = {n: {t: _own_delta(_as_fp32(lowv[cut[t]]), np.asarray(own[t])) for t in outputs[n] if t in cut}
                           for n in chosen}
            float_outputs_ = [o.name for o in fp32.graph.output if types.get(o.name) == onnx.TensorProto.FLOAT]
            impacts = measure_impacts(fp32, float_outputs_, feed, {n: d for n, d in node_deltas.items() if d}, cancel,
                                      device=observer.device)
            for row in attribution.nodes:
                row.impact = impacts.get(row.node)
    finally:
        cap.session.close()
    details = dict(cap.details)
    if mask in dataset.inputs:
        details["mask"] = mask
    return Localization(attribution, done, batches, time.perf_counter() - t0, observer.device, details)


def _squared_error_per_sample(low: np.ndarray, ref: np.ndarray) -> np.ndarray:
    d = np.asarray(low, np.float64).reshape(len(ref), -1) - np.asarray(ref, np.float64).reshape(len(ref), -1)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isfinite(d).all(axis=1), (d * d).sum(axis=1), np.inf)


def _worst(sample_error: dict[str, list[np.ndarray]], stats: dict[str, TensorStats], count: int, wanted: int,
           fixed_batch: bool) -> np.ndarray:
    """Indices of the `wanted` samples with the largest share of the outputs' error (1 - cosine over
    a data set adds up over its samples), in data order; the first ones where the outputs were not
    measured; the first batch for a fixed-batch model (`wanted` is its batch)."""
    if fixed_batch or count <= wanted or not sample_error:
        return np.arange(min(count, wanted))
    share = sum(np.concatenate(parts) / max(stats[t].sq_ref, 1e-300) for t, parts in sample_error.items())
    return np.sort(np.argsort(-np.nan_to_num(share, nan=np.inf), kind="stable")[:wanted])


def _with_producers(model: onnx.ModelProto, nodes: set[str]) -> set[str]:
    producer = {t: n.name for n in model.graph.node for t in n.output}
    return nodes | {producer[t] for n in model.graph.node if n.name in nodes for t in n.input if t in producer}


def _low_names(fp32: onnx.ModelProto, low: onnx.ModelProto, outputs: dict[str, list[str]]) -> dict[str, str]:
    """{FP32 tensor: the same node's output in the annotated graph}: the names agree except
    for graph outputs kept in FP32 there (the node writes `<name>__fp16`, a Cast `<name>`)."""
    by_name = {n.name: n for n in low.graph.node}
    fp32_nodes = {n.name: n for n in fp32.graph.node}
    out: dict[str, str] = {}
    for node, tensors in outputs.items():
        twin = by_name.get(node)
        if twin is None:
            continue
        original = list(fp32_nodes[node].output)
        for t in tensors:
            i = original.index(t)
            if i < len(twin.output) and twin.output[i]:
                out[t] = twin.output[i]
    return out


def _own_delta(low: np.ndarray, recomputed: np.ndarray) -> np.ndarray:
    """What the node added: low minus its FP32 recomputation; nothing where the recomputation is
    NaN/Inf already (it came in with the inputs), NaN/Inf where the node made it."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(recomputed), low - recomputed, 0.0).astype(np.float32)


def _as_fp32(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype == np.float32 else x.astype(np.float32)


def _host(x) -> np.ndarray:
    """A numpy array of an observed tensor (the torch side's live on the GPU)."""
    if isinstance(x, np.ndarray):
        return x
    return x.detach().float().cpu().numpy()
