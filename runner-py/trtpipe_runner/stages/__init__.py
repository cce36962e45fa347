"""Stages the runner can run. Each module exposes `run(ctx) -> StageOutput`.

Modules are imported on first use, or by `import_all` (the runner's warm-up, in
the background once it listens): the runner answers GetCapabilities and health
checks without waiting for onnx or onnxruntime to load.
"""
from __future__ import annotations

import importlib

from ..errors import NotFoundError

STAGES = ("inspect", "reference", "calibrate", "search", "transform", "build", "evaluate", "localize", "benchmark",
          "hold")
# Stages that take their device leases themselves: a benchmark holds its device
# exclusively only around its timing loops, once its session says which device that is.
SELF_LEASING = ("benchmark",)


def get_stage(name: str):
    """Returns the stage's `run` function; NotFoundError for unknown stages."""
    if name not in STAGES:
        raise NotFoundError(f"unknown stage '{name}' (this runner has: {', '.join(STAGES)})", code="UNKNOWN_STAGE")
    return importlib.import_module(f"{__name__}.{name}_stage").run


def import_all() -> list[str]:
    """Imports every stage module now (onnx, numpy and our own modules: a tenth of a second to half
    a second each on a loaded host) rather than in the first stage of each kind, where it was a
    stage's overhead; returns the stages whose module failed to import (they fail again on use,
    with the error)."""
    failed = []
    for name in STAGES:
        try:
            get_stage(name)
        except Exception:  # noqa: BLE001 - reported by the stage that needs it
            failed.append(name)
    return failed


def parse_stage_params(name: str, params: dict):
    """The stage's params checked against the contract (proto/.../contract/stages/<name>.schema.json):
    UserError (INVALID_ARGUMENT) naming a missing, unknown or malformed key, before any work."""
    from ..contract.stages import parse_params

    get_stage(name)  # an unknown stage is NOT_FOUND, not a params problem
    return parse_params(name, params)


def get_leased_stage(name: str):
    """Like `get_stage`, but the function holds the devices the stage uses while it runs
    (lease/devices.py): what the servicer and `run-stage` call."""
    run = get_stage(name)
    if name in SELF_LEASING:
        return run

    def leased(ctx):
        from ..lease.devices import stage_needs

        with ctx.lease(stage_needs(name, ctx.params)):
            return run(ctx)

    return leased
