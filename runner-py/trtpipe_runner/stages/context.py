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


@dataclass
class Output:
    """A named output artifact."""

    sha256: str
    size: int
    media_type: str


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
    params: dict[str, Any]
    cell: str = ""
    emit: Callable[[str, Any], None] = lambda kind, payload: None
    stage: str = ""
    # Every device lease the stage held, in the order it took them (lease/leases.py).
    leases: list[Lease] = field(default_factory=list)
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

    def save_json(self, obj: Any) -> Output:
        return self.save_bytes(json.dumps(obj, indent=1, sort_keys=True).encode(), "application/json")
