"""The few array reductions calibration needs, on numpy (CPU) or torch (GPU) arrays.

Each reduction is vectorized over a whole tensor (no per-element Python), and
the torch versions run where the tensor lives, so on a GPU only small results
(two floats, a channel vector, a 2048-bin histogram) come back to the host.
Histograms count into int64 (torch.histc counts in float32, which stops
counting at 2**24 per bin: a post-ReLU tensor of a CNN has more zeros than
that) with ONNX Runtime's bin convention: uniform bins over [lo, hi], hi
itself in the last bin.
"""
from __future__ import annotations

import numpy as np

CHUNK = 1 << 22  # elements per histogram step on the CPU: bounds the temporary index arrays


class NumpyOps:
    device = "cpu"

    def minmax(self, x: np.ndarray) -> tuple[float, float]:
        if x.size == 0:
            return np.inf, -np.inf
        return float(np.fmin.reduce(x, axis=None)), float(np.fmax.reduce(x, axis=None))

    def finite_minmax(self, x: np.ndarray) -> tuple[float, float]:
        """Min and max over the finite values (inf, -inf and NaN ignored)."""
        lo, hi = self.minmax(x)
        if np.isfinite(lo) and np.isfinite(hi):
            return lo, hi
        return self.minmax(x[np.isfinite(x)])  # rare: only then pay for the mask

    def channel_minmax(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Min and max per index of the last axis."""
        flat = x.reshape(-1, x.shape[-1])
        return np.fmin.reduce(flat, axis=0).astype(np.float64), np.fmax.reduce(flat, axis=0).astype(np.float64)

    def abs(self, x: np.ndarray) -> np.ndarray:
        return np.abs(x)

    def scale_last(self, x: np.ndarray, factors: np.ndarray) -> np.ndarray:
        return x * factors.astype(x.dtype)

    def histogram(self, x: np.ndarray, lo: float, hi: float, bins: int, absolute: bool = False) -> np.ndarray:
        """Counts of x (of |x| when `absolute`) in `bins` uniform bins over [lo, hi]."""
        flat = x.reshape(-1)
        counts = np.zeros(bins, np.int64)
        if hi <= lo:  # a constant tensor: everything in one bin
            counts[0] = np.count_nonzero(np.isfinite(flat))
            return counts
        scale = np.float32(bins / (hi - lo))
        buf = np.empty(min(CHUNK, flat.size), np.float32)
        for start in range(0, flat.size, CHUNK):
            part = flat[start:start + CHUNK]
            b = buf[:part.size]
            if absolute:
                part = np.abs(part, out=b)
            np.subtract(part, np.float32(lo), out=b)
            np.multiply(b, scale, out=b)
            np.clip(b, 0, bins - 1, out=b)
            counts += np.bincount(b.astype(np.int32), minlength=bins)[:bins]
        return counts

    def nbytes(self, x: np.ndarray) -> int:
        return int(x.nbytes)


class TorchOps:
    def __init__(self, device: str):
        self.device = device

    def minmax(self, x) -> tuple[float, float]:
        import torch

        if x.numel() == 0:
            return np.inf, -np.inf
        lo, hi = torch.aminmax(x.float())
        return float(lo), float(hi)

    def finite_minmax(self, x) -> tuple[float, float]:
        import torch

        lo, hi = self.minmax(x)
        if np.isfinite(lo) and np.isfinite(hi):
            return lo, hi
        return self.minmax(x[torch.isfinite(x)])

    def channel_minmax(self, x) -> tuple[np.ndarray, np.ndarray]:
        import torch

        lo, hi = torch.aminmax(x.float().reshape(-1, x.shape[-1]), dim=0)
        return lo.double().cpu().numpy(), hi.double().cpu().numpy()

    def abs(self, x):
        return x.abs()

    def scale_last(self, x, factors: np.ndarray):
        import torch

        return x * torch.as_tensor(factors, dtype=x.dtype, device=x.device)

    def histogram(self, x, lo: float, hi: float, bins: int, absolute: bool = False) -> np.ndarray:
        import torch

        flat = x.reshape(-1).float()
        if absolute:
            flat = flat.abs()
        if hi <= lo:
            out = np.zeros(bins, np.int64)
            out[0] = int(torch.isfinite(flat).sum())
            return out
        idx = ((flat - lo) * (bins / (hi - lo))).clamp_(0, bins - 1).to(torch.int64)
        return torch.bincount(idx, minlength=bins)[:bins].cpu().numpy()

    def nbytes(self, x) -> int:
        return int(x.numel() * x.element_size())
