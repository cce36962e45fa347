"""Error statistics of one tensor against its FP32 reference, accumulated batch by batch.

Only sums are kept (never the tensors), so localizing a model costs the memory
of one batch of its tensors. Sums are float64 and the squared difference is
summed directly, so 1 - cosine keeps its digits near 1 (cosine from
|a|^2 + |r|^2 - |a - r|^2 would lose them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class ShapeMismatch(ValueError):
    """The low-precision value and the reference differ in shape (args: low shape, reference shape)."""


@dataclass
class TensorStats:
    """Running sums over the finite pairs (low value, reference value) of one tensor."""

    elements: int = 0
    sq_diff: float = 0.0   # sum (a - r)^2
    sq_ref: float = 0.0    # sum r^2
    sq_low: float = 0.0    # sum a^2
    max_abs: float = 0.0   # max |a - r|
    nonfinite: int = 0     # NaN/Inf in the low-precision value where the reference is finite
    # The node's own part (localize/shadow.py): the low value against the FP32 node run on the
    # very inputs the low graph gave it.
    sq_own: float = 0.0    # sum (a - s)^2, s = that FP32 recomputation
    own_nonfinite: int = 0  # NaN/Inf born in this node (its FP32 recomputation is finite there)
    own_measured: bool = False

    def add(self, low, ref) -> None:
        """Adds one batch: `low` (any float dtype) against `ref` (FP32), same shape."""
        a = np.asarray(low, dtype=np.float64)
        r = np.asarray(ref, dtype=np.float64)
        if a.shape != r.shape:
            raise ShapeMismatch(list(a.shape), list(r.shape))
        ref_ok = np.isfinite(r)
        ok = ref_ok & np.isfinite(a)
        if not ok.all():
            self.nonfinite += int(np.count_nonzero(ref_ok & ~ok))
            a, r = a[ok], r[ok]
        d = a - r
        self.elements += d.size
        self.sq_diff += float(np.dot(d.ravel(), d.ravel()))
        self.sq_ref += float(np.dot(r.ravel(), r.ravel()))
        self.sq_low += float(np.dot(a.ravel(), a.ravel()))
        if d.size:
            self.max_abs = max(self.max_abs, float(np.abs(d).max()))

    def add_own(self, low, shadow) -> None:
        """Adds one batch of the node's own error: `low` against `shadow`, the FP32 node run on the
        inputs the low-precision graph gave it (where those are not finite, nothing is counted)."""
        a = np.asarray(low, dtype=np.float64)
        s = np.asarray(shadow, dtype=np.float64)
        self.own_measured = True
        base = np.isfinite(s)
        ok = base & np.isfinite(a)
        if not ok.all():
            self.own_nonfinite += int(np.count_nonzero(base & ~ok))
            a, s = a[ok], s[ok]
        d = (a - s).ravel()
        self.sq_own += float(np.dot(d, d))

    @property
    def own_error(self) -> float | None:
        """||a - s|| / ||r||: the error this node adds by itself, on the reference's scale."""
        if not self.own_measured:
            return None
        return math.inf if self.own_nonfinite else _norm_ratio(self.sq_own, self.sq_ref)

    @property
    def rel_error(self) -> float:
        """||a - r|| / ||r|| over the whole sample; inf where the low value is not finite."""
        return math.inf if self.nonfinite else _norm_ratio(self.sq_diff, self.sq_ref)

    @property
    def cosine(self) -> float:
        """Cosine similarity of the flattened tensors (0 with NaN/Inf, as evaluation reports it)."""
        if self.nonfinite:
            return 0.0
        na, nr = math.sqrt(self.sq_low), math.sqrt(self.sq_ref)
        if na == 0.0 and nr == 0.0:
            return 1.0
        if na == 0.0 or nr == 0.0:
            return 0.0
        # 1 - cos = (|a - r|^2 - (|a| - |r|)^2) / (2 |a| |r|): exact, and keeps the small difference.
        gap = (self.sq_diff - (na - nr) ** 2) / (2.0 * na * nr)
        return min(1.0, max(-1.0, 1.0 - gap))

    def to_json(self) -> dict:
        return {"rel_error": self.rel_error, "cosine": self.cosine, "max_abs": self.max_abs,
                "nonfinite": self.nonfinite, "elements": self.elements, "own_error": self.own_error}


def _norm_ratio(sq: float, sq_ref: float) -> float:
    """sqrt(sq / sq_ref): an error norm on the reference's scale (0 for no error, inf against a zero reference)."""
    if sq_ref == 0.0:
        return 0.0 if sq == 0.0 else math.inf
    return math.sqrt(sq / sq_ref)
