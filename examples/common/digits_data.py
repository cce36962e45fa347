"""The scikit-learn digits data set, split the same way for every example.

1797 8x8 grey images of hand-written digits (values 0..16). The split is fixed
(seeded), so every example trains on the same images and is evaluated on the
same held-out ones. Calibration samples come from the training split: data
the model has seen, never the evaluation images.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SEED = 20261129
EVAL_COUNT = 537  # about 30 % held out
CALIB_COUNT = 256


def load_split() -> dict[str, np.ndarray]:
    """Returns train/calib/eval images (N, 8, 8) scaled to [0, 1] and labels."""
    from sklearn.datasets import load_digits  # only needed to (re)train

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(images))
    eval_idx, train_idx = order[:EVAL_COUNT], order[EVAL_COUNT:]
    return {
        "train_x": images[train_idx],
        "train_y": labels[train_idx],
        "calib_x": images[train_idx[:CALIB_COUNT]],
        "eval_x": images[eval_idx],
        "eval_y": labels[eval_idx],
    }


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Writes a compressed .npz atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
