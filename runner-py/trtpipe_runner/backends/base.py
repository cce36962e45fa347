"""The backend interface every backend folder implements.

A backend builds an annotated ONNX model into something it can run (a
TensorRT engine, an ONNX Runtime session file, a PyTorch module) and runs it.
Stages (build, evaluate, benchmark, explain) only talk to this interface; a
backend implements the parts it can. Heavy libraries are imported inside the
backend's own modules, never at package import.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cancel import CancelToken
from ..errors import UnsupportedError
from ..model.tensors import TensorSpec
from ..timing.loop import HostTimer, IterationTimer


@dataclass
class BuildOutput:
    """What `Backend.build` produced: the file to store as the `engine`
    artifact, its media type, and details for the run record."""

    engine: Path
    media_type: str
    details: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    # An ONNX engine that shares its model's external data names it here
    # rather than copying it beside `engine` (the torch backend).
    data_dir: Path | None = None
    # Realized precision per node when the build already worked it out (TensorRT reads it from
    # the inspector JSON it just wrote); None: the build stage asks `Backend.explain`.
    explain: list[ExplainRow] | None = None


@dataclass
class ExplainRow:
    """Realized precision of one ONNX node on this backend, and why."""

    node: str
    realized: str  # fp32 | tf32 | fp16 | bf16 | int8 | fp8 | - (no float math) | ? (unknown)
    reason: str = ""  # NO_KERNEL_ON_BACKEND, FUSED_INTO_FP32_LAYER, ...
    detail: str = ""


@dataclass
class Capture:
    """A session of a model built to return some of its intermediate tensors too
    (`Backend.capture`): which it returns, and why the others are not there."""

    session: "Session"
    tensors: list[str]
    missing: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class Session(ABC):
    """A loaded, runnable model. Feeds and results are host numpy arrays."""

    @abstractmethod
    def inputs(self) -> list[TensorSpec]:
        """The model's inputs as the session sees them."""

    @abstractmethod
    def output_names(self) -> list[str]:
        ...

    @abstractmethod
    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One inference; returns every output by name."""

    def timer(self, feeds: dict[str, np.ndarray], cancel: CancelToken) -> IterationTimer:
        """What the timing protocol (timing/loop.py) calls to time inferences of one batch.

        Default: the host wall clock around `run`. GPU backends return CUDA-event
        timers with the inputs already on the device; preparing them (copies,
        CUDA graph capture) happens here, inside the benchmark's exclusive lease.
        """
        return HostTimer(lambda: self.run(feeds), cancel)

    def timer_name(self) -> str:
        return "host perf_counter"

    def device(self) -> str:
        """Where the model runs: "cpu" or "cuda:N" (the device a benchmark holds exclusively)."""
        return "cpu"

    def threads(self) -> dict[str, Any]:
        """The host threads the session computes with, for a benchmark's provenance."""
        return {}

    def on_cancel(self, cancel: CancelToken) -> None:
        """Hook to interrupt a running inference when the stage is cancelled."""

    def close(self) -> None:
        pass


class Backend(ABC):
    """One backend: build + load (+ explain where it can)."""

    name: str = ""

    @abstractmethod
    def build(self, model_path: Path, scratch: Path, settings: dict[str, Any], cancel: CancelToken,
              log=None) -> BuildOutput:
        """Compiles the annotated model at `model_path` for this backend.

        Args:
            model_path: the annotated ONNX model.
            scratch: a private temporary folder for outputs.
            settings: the target's build settings plus `precision` and `numerics`.
            cancel: cooperative cancellation.
            log: optional callable(message, level="info").
        """

    @abstractmethod
    def load(self, engine_path: Path, settings: dict[str, Any]) -> Session:
        """Loads what `build` produced."""

    def capture(self, model, scratch: Path, settings: dict[str, Any], tensors: list[str], cancel: CancelToken,
                log=None) -> Capture:
        """Builds and loads `model` so that its session also returns `tensors` (the localize stage).

        The default marks them as outputs of the ONNX graph and builds that, which is what
        ONNX Runtime and the torch backend need (both keep a graph output out of their
        fusions, so a captured graph may fuse less than the built one); TensorRT marks
        them in its network instead (Polygraphy's `--trt-outputs mark all`).

        Args:
            model: the annotated ONNX model (onnx.ModelProto, tensors in memory).
            scratch: a private folder for the build.
            settings: the build settings, as for `build`.
            tensors: names of tensors of `model` to return.
            cancel: cooperative cancellation.
            log: optional callable(message, level="info").
        """
        from ..model.expose import with_outputs
        from ..model.external import save_with_external_data

        exposed, missing = with_outputs(model, tensors)
        path = scratch / "capture" / "model.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        if exposed.ByteSize() > 1 << 30:  # protobuf cannot serialize 2 GiB: the weights go beside it
            save_with_external_data(exposed, path)
        else:
            path.write_bytes(exposed.SerializeToString())
        built = self.build(path, scratch, settings, cancel, log)
        session = self.load(built.engine, settings)
        returned = set(session.output_names())
        for t in tensors:
            if t not in returned and t not in missing:
                missing[t] = f"the {self.name} session does not return it"
        return Capture(session, [t for t in tensors if t in returned], missing)

    def explain(self, model_path: Path, engine_path: Path, settings: dict[str, Any]) -> list[ExplainRow]:
        """Realized precision per node of the annotated model, where this backend can tell."""
        raise UnsupportedError(f"backend {self.name} cannot explain realized precision", code="EXPLAIN_UNSUPPORTED")
