"""Thresholds from histograms: ONNX Runtime's entropy and percentile calibrators, vectorized.

The results follow onnxruntime.quantization.calibrate (HistogramCollector)
step for step, so thresholds agree with what trtpipe computed before with
ONNX Runtime's own calibrators (tests/calibration compares them):

- entropy: a histogram of the signed values, `bins` uniform bins over
  [-amax, amax]; every candidate window of 2i+1 bins around zero
  (i = quantized_bins/2 .. bins/2) is folded into `quantized_bins` bins and
  expanded back, and the window whose expansion has the smallest
  KL divergence to the clipped distribution wins. ONNX Runtime loops over
  the ~1000 candidates in Python with per-bin loops inside; here all
  candidates at once, from prefix sums (kl_divergences).
- percentile: a histogram of |x| over [min |x|, max |x|]; the first bin edge
  where the cumulative share reaches the percentile.
Both clip the result to the observed range, as ONNX Runtime does.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-4  # smooth_distribution's epsilon for empty bins
TIE = 1e-6  # KL divergences this close (relative) are equal


def entropy_threshold(hist: np.ndarray, amax: float, lo: float, hi: float, quantized_bins: int = 128) -> float:
    """Symmetric threshold chosen by KL divergence.

    Args:
        hist: counts of the signed values in len(hist) uniform bins over [-amax, amax].
        amax: max |x| (the histogram's half range).
        lo, hi: the observed min and max (the result is clipped to them).
        quantized_bins: bins of the quantized distribution (128 for int8).
    Returns:
        max(|lower|, |upper|) of the best window, clipped like ONNX Runtime.
    """
    n = hist.size
    zero = n // 2
    cands = np.arange(quantized_bins // 2, zero + 1)
    kl = kl_divergences(hist, cands, quantized_bins)
    # Windows that differ only by empty bins tie up to rounding (ONNX Runtime's float32 sums
    # then pick one by noise); the narrowest of the tied windows is taken.
    best = int(cands[int(np.argmax(kl <= kl.min() * (1 + TIE)))])
    edges = np.linspace(-amax, amax, n + 1, dtype=np.float32)
    start, end = zero - best, min(zero + best + 1, n)
    lower, upper = max(float(edges[start]), lo), min(float(edges[end]), hi)
    return max(max(lower, 0.0), max(upper, 0.0), -min(lower, 0.0))


def kl_divergences(hist: np.ndarray, cands: np.ndarray, qbins: int) -> np.ndarray:
    """KL(P || Q) of ONNX Runtime's entropy calibrator for each candidate half-width in `cands`.

    ONNX Runtime, per candidate i: the window W = hist[z-i : z+i+1] (z = len/2), P = W with
    the outliers added to its first and last bins; Q = W summed over qbins chunks of
    m = len(W) // qbins bins (the last chunk also takes the remainder), each sum spread as
    an integer quotient over the chunk's m bins counted by P's non-zero bins (the remainder
    bins get 0); both smoothed (empty bins get EPS, taken off the others) and normalized.
    Here every sum over bins is a difference of prefix sums, so a candidate costs O(qbins),
    not O(len(W)). The only sum that is not linear in the bins, sum p' log p' with
    p' = p - e over the non-empty bins, uses the Taylor series of (h - e) log(h - e) in e
    to third order (e = EPS * empty / non-empty bins is below 1e-3 on all but
    near-empty histograms; the error is O(e^4 / h^3) per bin).
    """
    h = hist.astype(np.float64)
    n = h.size
    pos = h > 0
    safe = np.where(pos, h, 1.0)

    def prefix(x):
        return np.concatenate([[0.0], np.cumsum(x)])

    cum, cnz = prefix(h), prefix(pos)
    f0, f1 = prefix(np.where(pos, h * np.log(safe), 0.0)), prefix(np.where(pos, np.log(safe) + 1.0, 0.0))
    f2, f3 = prefix(np.where(pos, 1.0 / safe, 0.0)), prefix(np.where(pos, 1.0 / safe ** 2, 0.0))
    total = cum[n]
    zero = n // 2
    start = zero - cands
    end = np.minimum(zero + cands + 1, n)
    length = end - start
    m = length // qbins
    first = h[start] + cum[start]  # P's first and last bins carry the outliers
    last = h[end - 1] + (total - cum[end])
    nz = (cnz[end - 1] - cnz[start + 1]) + (first > 0) + (last > 0)
    zeros = length - nz
    ep = EPS * zeros / np.maximum(nz, 1)

    def g(v):  # (v - e) log(v - e) for a non-empty bin
        return np.where(v > 0, (v - ep) * np.log(np.maximum(v - ep, 1e-300)), 0.0)

    a = ((f0[end - 1] - f0[start + 1]) - ep * (f1[end - 1] - f1[start + 1]) + ep ** 2 / 2 * (f2[end - 1] - f2[start + 1])
         + ep ** 3 / 6 * (f3[end - 1] - f3[start + 1]) + g(first) + g(last) + zeros * EPS * np.log(EPS))
    p_log_p = a / total - np.log(total)

    k = np.arange(qbins)[None, :]
    c0 = start[:, None] + k * m[:, None]  # chunk k covers bins [c0, c1)
    c1 = c0 + m[:, None]
    qsum = cum[np.where(k == qbins - 1, end[:, None], c1)] - cum[c0]
    norm = cnz[c1] - cnz[c0]
    last_chunk = (length - 1) // m  # the chunk holding P's last bin (== qbins: in the remainder)
    norm[:, 0] += (first > 0).astype(np.float64) - pos[start]
    holds_last = last_chunk < qbins
    rows = np.nonzero(holds_last)[0]
    norm[rows, last_chunk[rows]] += (last[rows] > 0).astype(np.float64) - pos[end[rows] - 1]
    q = np.floor(np.divide(qsum, norm, out=np.zeros_like(qsum), where=norm > 0))
    q_zero = (q == 0).sum(1) * m + (length - qbins * m)
    q_nz = length - q_zero
    eq = EPS * q_zero / np.maximum(q_nz, 1)
    q_smooth = np.where(q > 0, q - eq[:, None], EPS)
    q_total = (q * m[:, None]).sum(1)
    # sum of P' over each chunk: P's bin sums minus e per non-empty bin plus EPS per empty one.
    p_chunk = cum[c1] - cum[c0]
    p_chunk[:, 0] += cum[start]
    p_chunk[rows, last_chunk[rows]] += total - cum[end[rows]]
    p_chunk = p_chunk - ep[:, None] * norm + EPS * (m[:, None] - norm)
    p_tail = total - p_chunk.sum(1)
    cross = ((p_chunk * np.log(q_smooth)).sum(1) + p_tail * np.log(EPS)) / total - np.log(np.maximum(q_total, 1e-300))
    kl = p_log_p - cross
    kl[(nz == 0) | (q_nz == 0)] = np.inf
    return kl


def percentile_threshold(hist: np.ndarray, abs_lo: float, abs_hi: float, lo: float, hi: float,
                         percentile: float) -> float:
    """Symmetric threshold at `percentile` of |x|.

    Args:
        hist: counts of |x| in uniform bins over [abs_lo, abs_hi].
        lo, hi: the observed signed min and max (the result is clipped to them).
    """
    edges = np.linspace(abs_lo, abs_hi, hist.size + 1, dtype=np.float32) if abs_hi > abs_lo else \
        np.linspace(abs_lo - 0.5, abs_hi + 0.5, hist.size + 1, dtype=np.float32)  # np.histogram's degenerate range
    cdf = np.cumsum(hist / hist.sum())
    edge = float(edges[np.searchsorted(cdf, percentile / 100.0)])
    lower, upper = max(-edge, lo), min(edge, hi)
    return max(max(lower, 0.0), max(upper, 0.0), -min(lower, 0.0))
