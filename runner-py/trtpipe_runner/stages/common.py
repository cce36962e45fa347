"""Helpers several stages share: loading the model's data sets and batching."""
from __future__ import annotations

import io

import numpy as np

from ..data.arrays import read_npz
from ..data.dataset import Dataset, fixed_batch, load_npz
from ..data.manifest import is_manifest, load_manifest
from ..model.tensors import TensorSpec
from .context import StageContext

WHAT = {"eval_data": "evaluation data", "calib_data": "calibration data"}


def load_dataset(ctx: StageContext, name: str, specs: list[TensorSpec]) -> Dataset:
    """Loads input `name` ("eval_data" / "calib_data") with its params.

    Params read: `<name>.labels` (labels key), `<name>.samples` (first N); both absent: no
    labels, every sample (contract/stages.py DataOptions).
    """
    opts = getattr(ctx.params, name, None)
    labels = opts.labels if opts is not None else None
    samples = opts.samples if opts is not None else None
    path = ctx.input_path(name)
    what = WHAT.get(name, name)
    if is_manifest(path):
        ds = load_manifest(path, ctx.store, specs, labels, samples, what)
    else:
        ds = load_npz(path, specs, labels_key=labels, samples=samples, what=what)
    for w in ds.warnings:
        ctx.log(w, "warning")
    return ds


def batch_size(ctx: StageContext, specs: list[TensorSpec]) -> int:
    """The batch to run data in: the model's fixed batch if it has one, else params.batch (>= 1
    by the contract)."""
    fixed = fixed_batch(specs)
    return fixed if fixed is not None else int(ctx.params.batch)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
    return buf.getvalue()


def load_npz_artifact(ctx: StageContext, name: str) -> dict[str, np.ndarray]:
    """A stage input that is an .npz (the reference outputs); STAGE_INPUT_INVALID when it is not one."""
    return read_npz(ctx.input_path(name), f"stage input '{name}'", code="STAGE_INPUT_INVALID")


def run_session(session, dataset, bs: int, ctx: StageContext, label: str) -> dict[str, np.ndarray]:
    """Runs every batch of `dataset` through a backend Session; concatenates outputs."""
    session.on_cancel(ctx.cancel)
    nb = -(-dataset.count // bs)
    parts: dict[str, list[np.ndarray]] = {}
    for i, feed in enumerate(dataset.batches(bs)):
        ctx.cancel.check()
        for name, value in session.run(feed).items():
            parts.setdefault(name, []).append(value)
        ctx.progress((i + 1) / nb, f"{label} batch {i + 1}/{nb}")
    return {k: np.concatenate(v, axis=0) for k, v in parts.items()}
