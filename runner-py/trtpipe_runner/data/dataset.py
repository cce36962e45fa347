"""Datasets keyed by model input name, validated against the model's inputs."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import UserError
from ..model.tensors import TensorSpec
from .arrays import read_npz


@dataclass
class Dataset:
    """Samples for every model input (axis 0 is the sample axis), plus labels."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray | None = None
    source: str = ""
    synthetic: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(next(iter(self.inputs.values())))

    def batches(self, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, self.count, batch_size):
            yield {k: v[start : start + batch_size] for k, v in self.inputs.items()}

    def summary(self) -> dict:
        """Sample count and value ranges per input, as reported to users."""
        return {
            "source": self.source,
            "synthetic": self.synthetic,
            "samples": self.count,
            "inputs": {
                k: {
                    "dtype": str(v.dtype),
                    "shape": list(v.shape),
                    "min": float(v.min()) if v.size else 0.0,
                    "max": float(v.max()) if v.size else 0.0,
                }
                for k, v in self.inputs.items()
            },
            "labels": None if self.labels is None else int(len(self.labels)),
        }


def load_npz(path: Path, specs: list[TensorSpec], labels_key: str | None = None,
             samples: int | None = None, what: str = "data") -> Dataset:
    """Reads an .npz keyed by input name and checks it against the model.

    Args:
        path: the .npz file.
        specs: the model's inputs.
        labels_key: the array holding integer class labels, if any.
        samples: use only the first `samples` samples.
        what: how to call the data in errors ("calibration data").
    Raises:
        UserError naming the input and the mismatch (missing key, dtype, rank,
        a fixed dimension, unequal sample counts).
    """
    arrays = read_npz(path, what)
    return from_arrays(arrays, specs, labels_key, samples, what, source=f"npz ({len(arrays)} arrays)")


def from_arrays(arrays: dict[str, np.ndarray], specs: list[TensorSpec], labels_key: str | None,
                samples: int | None, what: str, source: str) -> Dataset:
    keys = sorted(arrays)
    labels = None
    if labels_key:
        if labels_key not in arrays:
            raise UserError(
                f"{what}: labels key '{labels_key}' is not in the file (it has: {', '.join(keys)})"
                + _did_you_mean(labels_key, keys),
                code="DATA_LABELS_MISSING",
                input=labels_key,
            )
        labels = np.asarray(arrays[labels_key])
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise UserError(
                f"{what}: labels '{labels_key}' must be a 1-D integer array, got {labels.dtype} {list(labels.shape)}",
                code="DATA_LABELS_INVALID",
                input=labels_key,
            )
    inputs: dict[str, np.ndarray] = {}
    for spec in specs:
        if spec.name not in arrays:
            raise UserError(
                f"{what} has no array for model input '{spec.name}' (it has: {', '.join(keys) or 'nothing'})"
                + _did_you_mean(spec.name, keys),
                code="DATA_INPUT_MISSING",
                input=spec.name,
            )
        inputs[spec.name] = _check_array(arrays[spec.name], spec, what)
    counts = {k: len(v) for k, v in inputs.items()}
    if labels is not None:
        counts[labels_key] = len(labels)
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{k}: {n}" for k, n in counts.items())
        raise UserError(f"{what}: arrays have different sample counts ({listing})", code="DATA_COUNT_MISMATCH")
    if next(iter(counts.values()), 0) == 0:
        raise UserError(f"{what} has no samples", code="DATA_EMPTY")
    extra = [k for k in keys if k not in inputs and k != labels_key]
    warnings = [f"{what}: arrays not used by the model: {', '.join(extra)}"] if extra else []
    if samples is not None:
        inputs = {k: v[:samples] for k, v in inputs.items()}
        labels = None if labels is None else labels[:samples]
    return Dataset(inputs, labels, source=source, warnings=warnings)


def _check_array(arr: np.ndarray, spec: TensorSpec, what: str) -> np.ndarray:
    arr = np.asarray(arr)
    if str(arr.dtype) != spec.dtype:
        raise UserError(
            f"{what}: input '{spec.name}' is {arr.dtype}, the model expects {spec.dtype} "
            f"(convert it with .astype(np.{spec.dtype}))",
            code="DATA_DTYPE_MISMATCH",
            input=spec.name,
        )
    if arr.ndim != len(spec.shape):
        raise UserError(
            f"{what}: input '{spec.name}' has shape {list(arr.shape)}, the model expects rank "
            f"{len(spec.shape)} {_shape_str(spec.shape)} (axis 0 is the sample axis)",
            code="DATA_SHAPE_MISMATCH",
            input=spec.name,
        )
    for axis, (have, want) in enumerate(zip(arr.shape, spec.shape)):
        if axis > 0 and isinstance(want, int) and have != want:
            raise UserError(
                f"{what}: input '{spec.name}' has shape {list(arr.shape)}, the model expects "
                f"{_shape_str(spec.shape)} (axis {axis} is {have}, not {want})",
                code="DATA_SHAPE_MISMATCH",
                input=spec.name,
            )
    return arr


def fixed_batch(specs: list[TensorSpec]) -> int | None:
    """The batch size the model fixes on axis 0, or None if it is dynamic."""
    fixed = {s.shape[0] for s in specs if s.shape and isinstance(s.shape[0], int)}
    return fixed.pop() if len(fixed) == 1 else None


def _shape_str(shape: tuple) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _did_you_mean(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
