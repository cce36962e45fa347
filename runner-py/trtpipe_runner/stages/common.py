"""Helpers several stages share: loading the model's data sets and batching."""
from __future__ import annotations

import io

import numpy as np

from ..data.dataset import Dataset, fixed_batch, load_npz
from ..data.manifest import is_manifest, load_manifest
from ..errors import UserError
from ..model.tensors import TensorSpec
from .context import StageContext

WHAT = {"eval_data": "evaluation data", "calib_data": "calibration data"}


def load_dataset(ctx: StageContext, name: str, specs: list[TensorSpec]) -> Dataset:
    """Loads input `name` ("eval_data" / "calib_data") with its params.

    Params read: `<name>.labels` (labels key), `<name>.samples` (first N).
    """
    opts = ctx.params.get(name) or {}
    path = ctx.input_path(name)
    what = WHAT.get(name, name)
    if is_manifest(path):
        ds = load_manifest(path, ctx.store, specs, opts.get("labels"), opts.get("samples"), what)
    else:
        ds = load_npz(path, specs, labels_key=opts.get("labels"), samples=opts.get("samples"), what=what)
    for w in ds.warnings:
        ctx.log(w, "warning")
    return ds


def batch_size(ctx: StageContext, specs: list[TensorSpec], default: int = 32) -> int:
    """The batch to run data in: the model's fixed batch if it has one."""
    fixed = fixed_batch(specs)
    wanted = int(ctx.params.get("batch", default))
    if fixed is not None:
        return fixed
    if wanted < 1:
        raise UserError(f"batch must be >= 1, got {wanted}", code="BAD_PARAM")
    return wanted


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load_npz_artifact(ctx: StageContext, name: str) -> dict[str, np.ndarray]:
    with np.load(ctx.input_path(name), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


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
