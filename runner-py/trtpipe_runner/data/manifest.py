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

import math
from pathlib import Path

import numpy as np

from ..artifacts import ArtifactStore, check_sha
from ..errors import UserError
from ..memory import check_fits
from ..model.tensors import TensorSpec
from ..untrusted import parse_json_object
from .arrays import read_npy, read_npz
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
    manifest = parse_json_object(Path(path).read_bytes(), f"{what}: the data manifest", "DATA_UNREADABLE")
    if manifest.get("kind") != MANIFEST_KIND:
        raise UserError(f"{what}: unknown data manifest kind {manifest.get('kind')!r}", code="DATA_UNREADABLE")
    if "synthetic" in manifest:
        return synthetic(_checked_synthetic(manifest["synthetic"], what), specs, what)
    files = _checked_files(manifest.get("files") or [], what)
    if not files:
        raise UserError(f"{what}: the folder {manifest.get('source', '')} has no .npz or .npy files",
                        code="DATA_EMPTY")
    arrays = _read_folder(files, store, what)
    return from_arrays(arrays, specs, labels_key, samples, what,
                       source=f"folder {manifest.get('source', '')} ({len(files)} files)")


def _checked_files(files: object, what: str) -> list[dict]:
    """The manifest's `files`: a list of {name, sha256} (the orchestrator writes them; a direct client may not)."""
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("name"), str) and isinstance(f.get("sha256"), str) for f in files):
        raise UserError(f"{what}: the data manifest's files must be a list of {{name, sha256}}", code="DATA_UNREADABLE")
    for f in files:
        try:
            check_sha(f["sha256"])
        except UserError:
            raise UserError(f"{what}: the data manifest names {f['name']!r} by {f['sha256']!r:.80}, not a sha256",
                            code="DATA_UNREADABLE") from None
    return files


def _checked_synthetic(spec: object, what: str) -> dict:
    """The manifest's generator spec: finite numbers where numbers go, a seed >= 0 and samples >= 1,
    shapes as lists of integers >= 1 (the orchestrator writes it so; a direct client may not)."""
    def number(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def dims(value: object) -> bool:
        return isinstance(value, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value)

    ok = (isinstance(spec, dict) and all(number(spec.get(k, 0)) for k in ("seed", "samples", "low", "high"))
          and spec.get("seed", 0) >= 0 and spec.get("samples", 64) >= 1 and isinstance(spec.get("shapes") or {}, dict)
          and all(dims(v) for v in (spec.get("shapes") or {}).values()))
    if not ok:
        raise UserError(f"{what}: the synthetic data spec needs finite numbers (seed >= 0, samples >= 1, low, high) "
                        "and shapes as lists of integers >= 1", code="DATA_UNREADABLE")
    assert isinstance(spec, dict)
    return spec


def _read_folder(files: list[dict], store: ArtifactStore, what: str) -> dict[str, np.ndarray]:
    names = sorted(files, key=lambda f: f["name"])
    kinds = {Path(f["name"]).suffix for f in names}
    if kinds == {".npy"}:
        return {Path(f["name"]).stem: read_npy(store.require(f["sha256"]), what, f["name"]) for f in names}
    if kinds == {".npz"}:
        parts: dict[str, list[np.ndarray]] = {}
        for f in names:
            arrays = read_npz(store.require(f["sha256"]), what, f["name"])
            if parts and set(arrays) != set(parts):
                raise UserError(f"{what}: {f['name']} has arrays {sorted(arrays)}, the others {sorted(parts)}",
                                code="DATA_INCONSISTENT")
            for k, v in arrays.items():
                parts.setdefault(k, []).append(v)
        return {k: _concatenate(v, k, what) for k, v in parts.items()}
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
        check_fits(math.prod(dims) * max(np.dtype(s.dtype).itemsize, 8), f"{what}: synthetic input '{s.name}' "
                   f"{dims}", "ask for fewer samples", code="DATA_TOO_LARGE")
        if s.dtype.startswith(("float", "bfloat")):
            arrays[s.name] = rng.uniform(low, high, size=dims).astype(s.dtype)
        else:
            arrays[s.name] = rng.integers(int(low), int(high) + 1, size=dims).astype(s.dtype)
    ds = from_arrays(arrays, specs, None, None, what, source=f"synthetic (seed {spec.get('seed', 0)})")
    ds.synthetic = True
    ds.warnings.append(f"{what} is SYNTHETIC: uniform random values in [{low}, {high}], seed {spec.get('seed', 0)}")
    return ds


def _concatenate(batches: list[np.ndarray], key: str, what: str) -> np.ndarray:
    """The files' batches of one array along axis 0; DATA_INCONSISTENT when their shapes do not join."""
    try:
        return np.concatenate(batches, axis=0)
    except ValueError as exc:
        raise UserError(f"{what}: the files' arrays '{key}' do not join along axis 0 ({exc})",
                        code="DATA_INCONSISTENT", input=key) from None
