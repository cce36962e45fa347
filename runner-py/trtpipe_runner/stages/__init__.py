"""Stages the runner can run. Each module exposes `run(ctx) -> StageOutput`.

Modules are imported on first use: the runner answers GetCapabilities and
health checks without loading onnx or onnxruntime.
"""
from __future__ import annotations

import importlib

from ..errors import NotFoundError

STAGES = ("inspect", "reference", "calibrate", "search", "transform", "build", "evaluate", "benchmark", "hold")


def get_stage(name: str):
    """Returns the stage's `run` function; NotFoundError for unknown stages."""
    if name not in STAGES:
        raise NotFoundError(f"unknown stage '{name}' (this runner has: {', '.join(STAGES)})", code="UNKNOWN_STAGE")
    return importlib.import_module(f"{__name__}.{name}_stage").run
