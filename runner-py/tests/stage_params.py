"""Complete stage params for tests that run stages, policies and backends directly.

The runner takes no defaults (the stage contract: proto/trtpipe/runner/v1/contract/stages/): what
the orchestrator sends for a pipeline that sets nothing (src/config/normalize.ts DEFAULTS) is
spelled out here, once for the tests, and each test overrides what it is about.
"""
from __future__ import annotations

from typing import Any

SAFETY = {"data_max": 512, "init_max": 65504, "reduction_depth": None}
CALIBRATION = {"method": "entropy", "percentile": 99.99, "per_channel": True}
ORT = {"backend": "onnxruntime", "opt_level": "all", "threads": 0}


def policy(default: str = "fp32", **over: Any) -> dict[str, Any]:
    """A stage's `policy` param; `safety={...}` merges into the default safety."""
    safety = {**SAFETY, **over.pop("safety", {})}
    return {"default": default, "io": "keep", "rules": [], "safety": safety, "unquantized": "fp32", **over}


def transform(default: str = "fp32", calibration: dict | None = None, **policy_over: Any) -> dict[str, Any]:
    return {"policy": policy(default, **policy_over), "calibration": {**CALIBRATION, **(calibration or {})}}


def reference(**over: Any) -> dict[str, Any]:
    return {"batch": 32, **over}


def calibrate(**over: Any) -> dict[str, Any]:
    return {"batch": 32, "method": "entropy", "percentile": 99.99, "calib_data": {}, **over}


def build(precision: str = "fp32", **over: Any) -> dict[str, Any]:
    """An ONNX Runtime build unless `backend=` says otherwise (TensorRT: max_batch 32)."""
    out = {**ORT, "numerics": "native", "precision": precision, **over}
    if out["backend"] == "tensorrt":
        out.setdefault("max_batch", 32)
    return out


def evaluate(**over: Any) -> dict[str, Any]:
    return {**ORT, "batch": 32, "eval_data": {}, "metrics": ["cosine", "max_abs", "top1_agreement"], **over}


def benchmark(**over: Any) -> dict[str, Any]:
    return {**ORT, "eval_data": {}, "batches": [1], "warmup": 10, "warmup_seconds": 0.2, "iterations": 100,
            "max_seconds": 60, **over}


def search(default: str = "fp16", **over: Any) -> dict[str, Any]:
    return {"policy": policy(default), "budget": {"cosine": 0.999}, "max_evaluations": 64, "evaluator": "auto",
            "ranking": "impact", "batch": 32, "eval_data": {}, "calibration": dict(CALIBRATION), **over}


def localize(precision: str = "fp16", **over: Any) -> dict[str, Any]:
    """evaluate.localize: true on an ONNX Runtime cell of `precision` (`build={...}` merges into its build)."""
    return {"build": build(precision, **over.pop("build", {})), "batch": 32, "eval_data": {}, "samples": 64,
            "impact_nodes": 64, "memory_mib": 1024, "reference_device": "auto", **over}


def policy_of(partial: dict[str, Any]):
    """The runner's Policy (precision/policy.parse_policy) of a partial policy dict, the rest as sent."""
    from trtpipe_runner.precision.policy import parse_policy

    return parse_policy(policy(**partial))


FULL = {"transform": transform, "reference": reference, "calibrate": calibrate, "build": build,
        "evaluate": evaluate, "benchmark": benchmark, "search": search, "localize": localize}


def complete(stage: str, partial: dict[str, Any]) -> dict[str, Any]:
    """The stage's full params with `partial` merged in (objects key by key, anything else replaced)."""
    if stage not in FULL:
        return dict(partial)
    if stage == "build" and partial.get("backend") == "tensorrt":
        return _merge(build(backend="tensorrt"), partial)
    return _merge(FULL[stage](), partial)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


def typed(stage: str, partial: dict[str, Any]):
    """The checked params object a stage receives (StageContext.params) for `complete(stage, partial)`."""
    from trtpipe_runner.stages import parse_stage_params

    return parse_stage_params(stage, complete(stage, partial))
