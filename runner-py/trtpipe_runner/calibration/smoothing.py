"""SmoothQuant: moving activation outliers into the weights of the layers that read them.

Transformers have a few activation channels (hidden dimensions) whose values
are 10-100x the others; one per-tensor int8 scale then spends its 255 levels
on those channels and rounds the rest to a handful of levels. For a linear
layer y = X W, dividing channel j of X by s_j and multiplying row j of W by
s_j changes nothing in exact arithmetic, but with
    s_j = max|X_j| ** alpha / max|W_j| ** (1 - alpha)
the activation's channels become alike (easy to quantize per tensor) while
the weights, quantized per output channel, absorb the spread (Xiao et al.,
SmoothQuant, 2022). alpha = 0.5 splits the difficulty evenly; larger alpha
moves more of it into the weights.

A tensor is smoothed when every quantizable node reading it is a MatMul or
Gemm that multiplies it (as the left operand) by a 2-D weight initializer,
e.g. a LayerNorm output feeding the Q, K and V projections; the factors are
shared by those layers (the max over all their weights). The transform
inserts Mul(X, 1/s) in front of each such layer it quantizes and scales that
layer's weight rows by s (precision/qdq.py); layers left in high precision
keep reading X with their own weights.
"""
from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from .ranges import QUANTIZABLE_OPS

S_MIN, S_MAX = 1e-5, 1e5


def weight_rows(node, init, base_dir: str = "") -> np.ndarray | None:
    """The node's weight as [K, N] (rows = the input channels it multiplies), or None when the
    node does not multiply its input 0 by a 2-D weight initializer (read from `base_dir` when
    it lives in an external data file)."""
    if len(init.dims) != 2:
        return None
    w = numpy_helper.to_array(init, base_dir)
    if w.ndim != 2 or w.dtype != np.float32:
        return None
    if node.op_type == "MatMul":
        return w
    attrs = {a.name: a.i for a in node.attribute}
    if node.op_type == "Gemm" and not attrs.get("transA", 0):
        return w.T if attrs.get("transB", 0) else w
    return None


def smoothing_targets(model, tensors: list[str], base_dir: str = "") -> dict[str, list[np.ndarray]]:
    """{activation tensor: the [K, N] weights of the layers reading it}, for the tensors SmoothQuant applies to.

    `base_dir`: the model's folder, for weights in external data files."""
    inits = {i.name: i for i in model.graph.initializer}
    readers: dict[str, list] = {}
    for node in model.graph.node:
        if node.op_type in QUANTIZABLE_OPS:
            for slot, t in enumerate(node.input):
                if t in tensors:
                    readers.setdefault(t, []).append((node, slot))
    out: dict[str, list[np.ndarray]] = {}
    for t, uses in readers.items():
        weights = []
        for node, slot in uses:
            w = weight_rows(node, inits[node.input[1]], base_dir) if slot == 0 and len(node.input) > 1 and \
                node.input[1] in inits else None
            if w is None:
                break
            weights.append(w)
        else:
            out[t] = weights
    return out


def smoothing_factors(act_absmax: np.ndarray, weights: list[np.ndarray], alpha: float) -> np.ndarray:
    """s per input channel; channels with no signal (all-zero activation or weight) keep s = 1."""
    w_absmax = np.max([np.abs(w).max(axis=1) for w in weights], axis=0).astype(np.float64)
    a = np.asarray(act_absmax, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.power(a, alpha) / np.power(w_absmax, 1.0 - alpha)
    s = np.where((a > 0) & (w_absmax > 0) & np.isfinite(s), s, 1.0)
    return np.clip(s, S_MIN, S_MAX)
