"""What a stage gets to work with, and what it returns."""
from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from ..artifacts import ArtifactStore
from ..cancel import CancelToken
from ..errors import UserError
from ..lease.leases import DeviceNeed, Lease, hold
from ..model.external import has_external_data
from ..model.manifest import MEDIA_TYPE as MANIFEST_MEDIA_TYPE
from ..model.manifest import is_model_manifest, materialize, store_model


@dataclass
class Output:
    """A named output artifact; a model manifest lists its files in `parts`."""

    sha256: str
    size: int
    media_type: str
    parts: list["Output"] = field(default_factory=list)


@dataclass
class StageOutput:
    outputs: dict[str, Output] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[dict[str, str]] = field(default_factory=list)
    # The device leases the stage held (set by whoever ran it, from StageContext.leases).
    leases: list[Lease] = field(default_factory=list)


@dataclass
class StageContext:
    """Inputs, parameters, the store and the event channel of one stage run.

    `emit(kind, payload)` sends ("progress", (fraction, message)),
    ("log", (level, message)) or ("lease", Lease) events to the client.
    """

    store: ArtifactStore
    cancel: CancelToken
    inputs: dict[str, str]
    # The stage's params, checked: contract/stages.py's <Stage>Params (stages.parse_stage_params).
    params: Any
    cell: str = ""
    emit: Callable[[str, Any], None] = lambda kind, payload: None
    stage: str = ""
    # Every device lease the stage held, in the order it took them (lease/leases.py).
    leases: list[Lease] = field(default_factory=list)
    # Whether engines with embedded host code may be built and loaded (host_code.py; `serve
    # --allow-engine-host-code`): in force while `run_stage` runs the stage.
    allow_engine_host_code: bool = False
    _scratch: Path | None = None

    @property
    def holder(self) -> str:
        """How other stages see this one while it holds a device: "benchmark@fp32-cpu"."""
        return f"{self.stage}@{self.cell}" if self.cell else self.stage

    @contextmanager
    def lease(self, needs: list[DeviceNeed]) -> Iterator[list[Lease]]:
        """Holds `needs` for the body of the `with` (waits, cancellably, while others measure)."""
        # Events carry a copy: the lease itself changes while the event waits to be sent.
        with hold(needs, self.holder, self.cancel, lambda lease: self.emit("lease", replace(lease))) as leases:
            self.leases.extend(leases)
            yield leases

    def input_path(self, name: str) -> Path:
        """Path of a named input artifact; UserError if it was not given."""
        if name not in self.inputs:
            raise UserError(f"stage input '{name}' is missing (got: {', '.join(sorted(self.inputs)) or 'none'})",
                            code="STAGE_INPUT_MISSING")
        return self.store.require(self.inputs[name])

    def model_path(self, name: str) -> Path:
        """Path of a model input (an ONNX model, or an engine that is one): for a model
        with external data its .onnx file in a folder with the data beside it."""
        path = self.input_path(name)
        return materialize(self.store, self.inputs[name]) if is_model_manifest(path) else path

    def has_input(self, name: str) -> bool:
        return name in self.inputs

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit("progress", (max(0.0, min(1.0, fraction)), message))

    def log(self, message: str, level: str = "info") -> None:
        self.emit("log", (level, message))

    def scratch(self) -> Path:
        """A private temporary directory, removed when the stage ends."""
        if self._scratch is None:
            self._scratch = self.store.scratch_dir()
        return self._scratch

    def cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def save_bytes(self, data: bytes, media_type: str) -> Output:
        sha = self.store.put_bytes(data)
        return Output(sha, len(data), media_type)

    def save_file(self, path: Path, media_type: str) -> Output:
        size = path.stat().st_size
        return Output(self.store.put_file(path), size, media_type)

    def save_model(self, path: Path, media_type: str = "application/onnx", data_dir: Path | None = None) -> Output:
        """Stores an ONNX file a stage wrote to `path` (moved into the store): one blob,
        or, when its tensors are in files beside it (or in `data_dir`, copied from
        there), those files plus a manifest naming them (model/manifest.py)."""
        import onnx

        if not has_external_data(onnx.load(str(path), load_external_data=False)):
            return self.save_file(path, media_type)
        sha, size, parts = store_model(self.store, path, data_dir, move=True)
        kinds = [media_type] + ["application/octet-stream"] * (len(parts) - 1)  # the .onnx comes first
        return Output(sha, size, MANIFEST_MEDIA_TYPE, [Output(s, n, k) for (s, n), k in zip(parts, kinds)])

    def stored_path(self, output: Output) -> Path:
        """Where a saved output can be read by path (a model manifest: its materialized .onnx)."""
        return materialize(self.store, output.sha256) if output.parts else self.store.require(output.sha256)

    def save_json(self, obj: Any) -> Output:
        return self.save_bytes(json.dumps(obj, indent=1, sort_keys=True).encode(), "application/json")
