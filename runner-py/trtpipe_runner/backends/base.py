"""The backend interface every backend folder implements.

A backend builds an annotated ONNX model into something it can run (a
TensorRT engine, an ONNX Runtime session file, a PyTorch module) and runs it.
Stages (build, evaluate, benchmark, explain) only talk to this interface; a
backend implements the parts it can. Heavy libraries are imported inside the
backend's own modules, never at package import.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cancel import CancelToken
from ..errors import UnsupportedError
from ..model.tensors import TensorSpec


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


@dataclass
class ExplainRow:
    """Realized precision of one ONNX node on this backend, and why."""

    node: str
    realized: str  # fp32 | tf32 | fp16 | bf16 | int8 | fp8 | - (no float math) | ? (unknown)
    reason: str = ""  # NO_KERNEL_ON_BACKEND, FUSED_INTO_FP32_LAYER, ...
    detail: str = ""


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

    def time_runs(self, feeds: dict[str, np.ndarray], warmup: int, iterations: int, max_seconds: float,
                  cancel: CancelToken, report=None) -> list[float]:
        """Latencies in milliseconds. Default: host wall clock around `run`.

        GPU backends override this with device timers (CUDA events), inputs
        kept on the device.
        """
        for _ in range(warmup):
            cancel.check()
            self.run(feeds)
        times: list[float] = []
        deadline = time.perf_counter() + max_seconds
        for i in range(iterations):
            cancel.check()
            t0 = time.perf_counter_ns()
            self.run(feeds)
            times.append((time.perf_counter_ns() - t0) / 1e6)
            if report and i % 20 == 0:
                report((i + 1) / iterations)
            if time.perf_counter() > deadline and len(times) >= 10:
                break
        return times

    def timer_name(self) -> str:
        return "host perf_counter"

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

    def explain(self, model_path: Path, engine_path: Path, settings: dict[str, Any]) -> list[ExplainRow]:
        """Realized precision per node of the annotated model, where this backend can tell."""
        raise UnsupportedError(f"backend {self.name} cannot explain realized precision", code="EXPLAIN_UNSUPPORTED")
