"""Data sets described by a manifest: a folder of files, or synthetic data.

The orchestrator uploads each file of a data folder as its own artifact and
sends a small JSON manifest naming them by sha256; synthetic data is a
manifest with a generator spec and no files. Either way the data set's
identity (and every cache key downstream) is the manifest's hash.

Folder layouts:
- `*.npz` files: each holds a batch keyed by input name; concatenated in file
  name order along axis 0;
- `*.npy` files: one per input (and one for labels), named `<input>.npy`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..artifacts import ArtifactStore
from ..errors import UserError
from ..model.tensors import TensorSpec
from .dataset import Dataset, from_arrays

MANIFEST_KIND = "trtpipe.dataset/1"


def is_manifest(path: Path) -> bool:
    """True for a data manifest (JSON naming MANIFEST_KIND), False for .npz files."""
    with open(path, "rb") as f:
        head = f.read(512)
    return head.lstrip().startswith(b"{") and MANIFEST_KIND.encode() in head


def load_manifest(path: Path, store: ArtifactStore, specs: list[TensorSpec], labels_key: str | None,
                  samples: int | None, what: str) -> Dataset:
    """Builds a Dataset from a manifest artifact (see module docstring)."""
    manifest = json.loads(Path(path).read_text())
    if manifest.get("kind") != MANIFEST_KIND:
        raise UserError(f"{what}: unknown data manifest kind {manifest.get('kind')!r}", code="DATA_UNREADABLE")
    if "synthetic" in manifest:
        return synthetic(manifest["synthetic"], specs, what)
    files = manifest.get("files") or []
    if not files:
        raise UserError(f"{what}: the folder {manifest.get('source', '')} has no .npz or .npy files",
                        code="DATA_EMPTY")
    arrays = _read_folder(files, store, what)
    return from_arrays(arrays, specs, labels_key, samples, what,
                       source=f"folder {manifest.get('source', '')} ({len(files)} files)")


def _read_folder(files: list[dict], store: ArtifactStore, what: str) -> dict[str, np.ndarray]:
    names = sorted(files, key=lambda f: f["name"])
    kinds = {Path(f["name"]).suffix for f in names}
    if kinds == {".npy"}:
        return {Path(f["name"]).stem: np.load(store.require(f["sha256"]), allow_pickle=False) for f in names}
    if kinds == {".npz"}:
        parts: dict[str, list[np.ndarray]] = {}
        for f in names:
            with np.load(store.require(f["sha256"]), allow_pickle=False) as npz:
                if parts and set(npz.files) != set(parts):
                    raise UserError(f"{what}: {f['name']} has arrays {sorted(npz.files)}, the others {sorted(parts)}",
                                    code="DATA_INCONSISTENT")
                for k in npz.files:
                    parts.setdefault(k, []).append(npz[k])
        return {k: np.concatenate(v, axis=0) for k, v in parts.items()}
    raise UserError(f"{what}: a data folder holds either .npz batches or one .npy per input, not {sorted(kinds)}",
                    code="DATA_UNREADABLE")


def synthetic(spec: dict, specs: list[TensorSpec], what: str) -> Dataset:
    """Random inputs from a declared generator: uniform in [low, high], seeded."""
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    n = int(spec.get("samples", 64))
    low, high = float(spec.get("low", 0.0)), float(spec.get("high", 1.0))
    shapes = spec.get("shapes") or {}
    arrays = {}
    for s in specs:
        dims = shapes.get(s.name) or [n if i == 0 and not isinstance(d, int) else d for i, d in enumerate(s.shape)]
        if any(not isinstance(d, int) for d in dims[1:]):
            raise UserError(f"{what}: synthetic data needs a concrete shape for input '{s.name}' "
                            f"{list(s.shape)}; give model.inputs.{s.name}.opt", code="DATA_SHAPE_UNKNOWN",
                            input=s.name)
        dims = [n] + [int(d) for d in dims[1:]]
        if s.dtype.startswith(("float", "bfloat")):
            arrays[s.name] = rng.uniform(low, high, size=dims).astype(s.dtype)
        else:
            arrays[s.name] = rng.integers(int(low), int(high) + 1, size=dims).astype(s.dtype)
    ds = from_arrays(arrays, specs, None, None, what, source=f"synthetic (seed {spec.get('seed', 0)})")
    ds.synthetic = True
    ds.warnings.append(f"{what} is SYNTHETIC: uniform random values in [{low}, {high}], seed {spec.get('seed', 0)}")
    return ds
