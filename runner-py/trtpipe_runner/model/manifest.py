"""A model with external data as artifacts: a manifest naming its files by sha256.

An ONNX model whose tensors live in files beside it (model.onnx + weights.bin)
travels as one artifact per file plus a small JSON manifest:

    {"files": [{"name": "model.onnx", "sha256": ..., "size": ...},
               {"name": "weights.bin", "sha256": ..., "size": ...}],
     "kind": "trtpipe.model/1", "model": "model.onnx"}

The manifest's sha256 is the model's identity (it covers every byte through
the member hashes, so a cache key changes when only the data changes). On a
runner it is materialized as a folder, `<store>/models/<manifest sha>/`, of
hard links to the verified blobs with their original names, so every tool
that reads a model by path (ONNX Runtime, TensorRT's parser, onnx) finds the
data beside it. Plain .onnx models stay one blob, as before.
"""
from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..artifacts import ArtifactStore, check_sha, copy_file
from ..errors import UserError
from .external import external_locations, location_problem

KIND = "trtpipe.model/1"
COMPLETE = ".trtpipe-complete"  # written last into a materialized folder
MEDIA_TYPE = "application/vnd.trtpipe.model+json"


def is_model_manifest(path: Path) -> bool:
    """True for a model manifest (JSON naming KIND), False for an ONNX file or anything else."""
    with open(path, "rb") as f:
        head = f.read(512)
    return head.lstrip().startswith(b"{") and KIND.encode() in head


def manifest_bytes(model_name: str, files: list[dict[str, Any]]) -> bytes:
    """The canonical manifest (sorted keys, no spaces: the orchestrator writes the same form)."""
    body = {"kind": KIND, "model": model_name, "files": sorted(files, key=lambda f: f["name"])}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def read_manifest(path: Path) -> dict[str, Any]:
    """Parses and checks a manifest: kind, names inside the folder, the model among the files."""
    try:
        body = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"the model manifest is not JSON ({exc})", code="MODEL_MANIFEST_INVALID") from None
    if not isinstance(body, dict) or body.get("kind") != KIND:
        raise UserError(f"unknown model manifest kind {body.get('kind') if isinstance(body, dict) else body!r}",
                        code="MODEL_MANIFEST_INVALID")
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise UserError("the model manifest lists no files", code="MODEL_MANIFEST_INVALID")
    names = set()
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            raise UserError("every file of a model manifest needs a name", code="MODEL_MANIFEST_INVALID")
        check_sha(f.get("sha256"))
        name = f["name"]
        if location_problem(name) or posixpath.normpath(name) != name or name in names:
            raise UserError(f"model manifest: file name {name!r} is not a plain, unique path inside the model's "
                            "folder", code="MODEL_MANIFEST_INVALID")
        names.add(name)
    if body.get("model") not in names:
        raise UserError(f"model manifest: the model {body.get('model')!r} is not among its files",
                        code="MODEL_MANIFEST_INVALID")
    return body


def store_model(store: ArtifactStore, onnx_path: Path, data_dir: Path | None = None,
                move: bool = False) -> tuple[str, int, list[tuple[str, int]]]:
    """Stores an ONNX file that uses external data as members plus a manifest.

    Every data file must be inside the model's folder (checked), or `data_dir`
    when given (a model written apart from the data it shares with another).
    The files are copied, or with `move` (a stage's own scratch files) moved
    into the store; files in `data_dir` are always copied.

    Returns:
        (manifest sha256, manifest size, [(member sha256, size), ...]).
    """
    import onnx

    onnx_path = Path(onnx_path)
    model = onnx.load(str(onnx_path), load_external_data=False)
    folder = Path(data_dir) if data_dir is not None else onnx_path.parent
    files = []
    for name in [onnx_path.name, *sorted(external_locations(model))]:
        source = onnx_path if name == onnx_path.name else folder / name
        if not source.is_file():
            raise UserError(f"{onnx_path.name}: its external data file {name} is missing (looked in {folder})",
                            code="MODEL_EXTERNAL_DATA_MISSING")
        size = source.stat().st_size
        own = move and (source == onnx_path or data_dir is None)
        files.append({"name": name, "sha256": store.put_file(source) if own else store.import_file(source),
                      "size": size})
    data = manifest_bytes(onnx_path.name, files)
    return store.put_bytes(data), len(data), [(f["sha256"], f["size"]) for f in files]


def materialize(store: ArtifactStore, manifest_sha: str) -> Path:
    """The model's folder on this runner (built once per manifest); returns its .onnx path.

    Members are copies of the verified blobs (in the kernel: see artifacts.copy_file),
    not hard links: onnx refuses external data files with more than one link. A
    model with external data therefore takes its size twice on a runner's disk.

    Raises:
        NotFoundError / IntegrityError: a member is missing or corrupt (upload it again).
    """
    body = read_manifest(store.require(manifest_sha))
    members = {f["name"]: store.require(f["sha256"]) for f in body["files"]}  # verified
    folder = store.root / "models" / manifest_sha
    if (folder / COMPLETE).is_file() and all(_same_size(folder / n, p) for n, p in members.items()):
        return folder / body["model"]
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=store.tmp_dir, prefix="model-"))
    for name, blob in members.items():
        copy_file(blob, building / name)
    (building / COMPLETE).write_text(manifest_sha)
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.rename(building, folder)
    except OSError:  # another stage built it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return folder / body["model"]


def _same_size(member: Path, blob: Path) -> bool:
    try:
        return member.stat().st_size == blob.stat().st_size
    except OSError:
        return False
