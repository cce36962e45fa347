"""Error metrics between a candidate output and the FP32 reference.

All metrics are computed in float64 on the host, over finite values where a
metric would otherwise be meaningless; NaN and Inf counts are reported on
their own, so a broken FP16 graph shows up as such and not as "cosine nan".
"""
from __future__ import annotations

import numpy as np

REL_EPS = 1e-6  # |ref| floor for relative errors, so zeros do not explode them
NN_MAX_SAMPLES = 20000  # nearest neighbours cost samples^2 x dims: beyond this, nn_agreement is not computed
NN_BLOCK = 1024


def compare(candidate: np.ndarray, reference: np.ndarray, top1: bool = True,
            nearest: bool = False) -> dict[str, float]:
    """Per-output error metrics of `candidate` against `reference`.

    Returns cosine similarity (over the flattened output), max/mean absolute
    error, relative error percentiles (p50/p90/p99/max), the count of
    non-finite candidate values; with `top1`, top-1 agreement where the output
    looks like per-class scores (rank >= 2); with `nearest`, nearest-neighbour
    agreement (embeddings: 3 to NN_MAX_SAMPLES samples, each flattened to a vector).
    """
    cand = np.asarray(candidate, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if cand.shape != ref.shape:
        raise ValueError(f"shape {list(cand.shape)} differs from the reference's {list(ref.shape)}")
    nonfinite = int(cand.size - np.count_nonzero(np.isfinite(cand)))
    out: dict[str, float] = {"nonfinite": float(nonfinite)}
    if nonfinite:
        # A NaN anywhere makes every aggregate meaningless: report the worst.
        out.update(cosine=0.0, max_abs=float("inf"), mean_abs=float("inf"),
                   rel_p50=float("inf"), rel_p90=float("inf"), rel_p99=float("inf"), rel_max=float("inf"))
    else:
        diff = np.abs(cand - ref)
        rel = diff / np.maximum(np.abs(ref), REL_EPS)
        out.update(
            cosine=cosine(cand, ref),
            max_abs=float(diff.max()) if diff.size else 0.0,
            mean_abs=float(diff.mean()) if diff.size else 0.0,
            rel_p50=float(np.percentile(rel, 50)) if rel.size else 0.0,
            rel_p90=float(np.percentile(rel, 90)) if rel.size else 0.0,
            rel_p99=float(np.percentile(rel, 99)) if rel.size else 0.0,
            rel_max=float(rel.max()) if rel.size else 0.0,
        )
    if top1 and ref.ndim >= 2 and ref.shape[-1] > 1:
        out["top1_agreement"] = top1_agreement(cand, ref)
    if nearest and 3 <= len(ref) <= NN_MAX_SAMPLES:
        out["nn_agreement"] = nn_agreement(cand, ref) if not nonfinite else 0.0
    return out


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel()
    b = b.ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def top1_agreement(cand: np.ndarray, ref: np.ndarray) -> float:
    """Share of samples whose arg-max class equals the reference's."""
    c = cand.reshape(-1, cand.shape[-1]).argmax(-1)
    r = ref.reshape(-1, ref.shape[-1]).argmax(-1)
    return float((c == r).mean())


def nn_agreement(cand: np.ndarray, ref: np.ndarray) -> float:
    """Share of samples whose nearest neighbour (by cosine, among the other
    samples) is the same as in the reference: what a retrieval or
    deduplication built on these embeddings would return."""
    def neighbours(x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x), -1)
        unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
        out = np.empty(len(unit), np.int64)
        for start in range(0, len(unit), NN_BLOCK):  # bounded memory: a block of rows at a time
            sim = unit[start:start + NN_BLOCK] @ unit.T
            rows = np.arange(sim.shape[0])
            sim[rows, start + rows] = -np.inf
            out[start:start + NN_BLOCK] = sim.argmax(1)
        return out

    return float((neighbours(cand) == neighbours(ref)).mean())


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples whose arg-max class equals the label."""
    if not np.all(np.isfinite(scores)):
        scores = np.nan_to_num(scores, nan=-np.inf)
    pred = scores.reshape(len(labels), -1).argmax(-1)
    return float((pred == labels).mean())


# How to fold per-output metrics into one number per cell: the worst output.
WORST = {
    "cosine": min,
    "top1_agreement": min,
    "nn_agreement": min,
    "max_abs": max,
    "mean_abs": max,
    "rel_p50": max,
    "rel_p90": max,
    "rel_p99": max,
    "rel_max": max,
    "nonfinite": sum,
}


def aggregate(per_output: dict[str, dict[str, float]]) -> dict[str, float]:
    """One value per metric over all outputs, taking the worst output."""
    result: dict[str, float] = {}
    for metric, fold in WORST.items():
        values = [m[metric] for m in per_output.values() if metric in m]
        if values:
            result[metric] = float(fold(values))
    return result
