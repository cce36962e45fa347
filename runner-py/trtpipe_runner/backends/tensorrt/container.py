"""The stored build artifact: a serialized engine with its settings beside it.

A TensorRT plan is opaque bytes; on its own it says nothing about how it was
built. The artifact is therefore a small uncompressed zip with three members:
  engine.plan     the serialized engine, exactly as TensorRT wrote it
  settings.json   the sidecar: TensorRT version, build settings, profiles,
                  builder flags, target identity, timing-cache use
  layers.json     the engine inspector's JSON (DETAILED), read right after the
                  build with an execution context, so explain needs no GPU later
Why zip: standard tools open it (`unzip -p engine.trtpipe engine.plan >
model.plan` gives a plan trtexec loads), Python reads it without extra
dependencies, and ZIP_STORED keeps reading the plan a plain copy. Entry
timestamps are fixed so identical plans give identical artifacts.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from ...errors import UserError

MEDIA_TYPE = "application/vnd.trtpipe.tensorrt-engine+zip"
FORMAT = "trtpipe.tensorrt-engine/1"
PLAN, SETTINGS, LAYERS = "engine.plan", "settings.json", "layers.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class EngineArtifact:
    plan: bytes
    settings: dict
    layers_json: str | None = None


def write_artifact(path: Path, artifact: EngineArtifact) -> None:
    """Writes the container to `path`.

    Args:
        path: destination file (created or replaced).
        artifact: plan bytes, sidecar settings and optional inspector JSON.
    """
    sidecar = dict(artifact.settings)
    sidecar["format"] = FORMAT
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        _put(z, SETTINGS, json.dumps(sidecar, indent=1, sort_keys=True).encode())
        if artifact.layers_json is not None:
            _put(z, LAYERS, artifact.layers_json.encode())
        _put(z, PLAN, bytes(artifact.plan))


def read_artifact(path: Path, with_plan: bool = True) -> EngineArtifact:
    """Reads a container written by `write_artifact`.

    Args:
        path: the stored engine artifact.
        with_plan: False skips reading the (large) plan, for explain.
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if SETTINGS not in names or PLAN not in names:
                raise zipfile.BadZipFile("members missing")
            settings = json.loads(z.read(SETTINGS))
            layers = z.read(LAYERS).decode() if LAYERS in names else None
            plan = z.read(PLAN) if with_plan else b""
    except (zipfile.BadZipFile, OSError, ValueError, RecursionError, zlib.error, EOFError) as exc:
        raise UserError(f"'{path.name}' is not a trtpipe TensorRT engine artifact ({type(exc).__name__}: {exc}); "
                        "rebuild it with the tensorrt backend", code="BAD_ENGINE_ARTIFACT") from None
    if not isinstance(settings, dict) or settings.get("format") != FORMAT:
        found = settings.get("format") if isinstance(settings, dict) else type(settings).__name__
        raise UserError(f"engine artifact format '{found}' is not {FORMAT}; rebuild the engine",
                        code="BAD_ENGINE_ARTIFACT")
    return EngineArtifact(plan, settings, layers)


def _put(z: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    z.writestr(info, data)
