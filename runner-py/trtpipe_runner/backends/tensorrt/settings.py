"""The TensorRT build settings of a target, validated in one visible place.

The build stage hands every backend the target's `build:` block plus the
cell's `precision` (src/plan/graph.ts). This module turns that dict into a
typed `TrtBuildSettings` with all defaults here, and rejects bad values with a
UserError naming the key. It does not import tensorrt: config.py applies the
result to a real builder config.

Keys (all optional):
  precision            the matrix cell's precision (fp32 | tf32 | fp16 | bf16 | int8 | fp8)
  workspace_mib        WORKSPACE memory-pool limit in MiB (TensorRT default: all device memory)
  optimization_level   builder_optimization_level 0..5 (TensorRT default 3)
  hardware_compatibility  none | ampere_plus | same_compute_capability
  version_compatible   build a version-compatible engine (VERSION_COMPATIBLE flag)
  legacy_weak_typing   TensorRT 10.x only: weak typing + precision flags + per-layer precisions
  input_shapes         {input: {min: [...], opt: [...], max: [...]}} optimization profile ranges
  max_batch / batch    largest batch the engine must run; dynamic inputs without ranges get
                       min = 1 and opt = max = this batch on their first axis (see profiles.py)
  lock                 lockfile rows [{node, resolved}], used by legacy mode and explain
  timing_cache         false disables the persistent timing cache
  timing_cache_dir     where timing caches live (else $TRTPIPE_TRT_CACHE_DIR, else ~/.cache/trtpipe/timing)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import UserError
from ...precision.types import PRECISIONS

HARDWARE_COMPATIBILITY = ("none", "ampere_plus", "same_compute_capability")
DEFAULT_MAX_BATCH = 32  # the evaluate stage's default batch (src/config/normalize.ts)


@dataclass(frozen=True)
class ShapeRange:
    """min/opt/max shapes of one input for an optimization profile."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


@dataclass
class TrtBuildSettings:
    precision: str = "fp32"
    workspace_mib: int | None = None
    optimization_level: int | None = None
    hardware_compatibility: str = "none"
    version_compatible: bool = False
    legacy_weak_typing: bool = False
    input_shapes: dict[str, ShapeRange] = field(default_factory=dict)
    max_batch: int = DEFAULT_MAX_BATCH
    max_batch_given: bool = False
    lock: dict[str, str] = field(default_factory=dict)  # node -> resolved precision
    timing_cache: bool = True
    timing_cache_dir: str | None = None

    @property
    def tf32(self) -> bool:
        """TF32 is a global builder switch: on only where the policy asked for tf32.

        fp32 cells are the FP32 reference and must be IEEE FP32; nodes an fp16
        policy kept in fp32 were kept for accuracy, so they get IEEE FP32 too.
        """
        return self.precision == "tf32" or "tf32" in self.lock.values()

    def to_json(self) -> dict[str, Any]:
        """The settings as they go into the engine's sidecar."""
        return {
            "precision": self.precision,
            "tf32": self.tf32,
            "workspace_mib": self.workspace_mib,
            "optimization_level": self.optimization_level,
            "hardware_compatibility": self.hardware_compatibility,
            "version_compatible": self.version_compatible,
            "legacy_weak_typing": self.legacy_weak_typing,
            "max_batch": self.max_batch,
            "input_shapes": {k: {"min": list(v.min), "opt": list(v.opt), "max": list(v.max)}
                             for k, v in sorted(self.input_shapes.items())},
        }


def parse_settings(params: dict[str, Any]) -> TrtBuildSettings:
    """Validates the build settings.

    Args:
        params: the build stage's params (target build settings + precision).

    Returns:
        TrtBuildSettings with every default applied.
    """
    s = TrtBuildSettings()
    s.precision = _choice(params, "precision", PRECISIONS, "fp32")
    numerics = params.get("numerics", "native")
    if numerics not in (None, "native"):
        raise UserError(f"numerics '{numerics}' is for the onnxruntime backend; TensorRT runs natively "
                        "(remove `numerics` from this target)", code="BAD_PARAM")
    s.workspace_mib = _int(params, "workspace_mib", lo=1)
    s.optimization_level = _int(params, "optimization_level", lo=0, hi=5)
    s.hardware_compatibility = _choice(params, "hardware_compatibility", HARDWARE_COMPATIBILITY, "none")
    s.version_compatible = _bool(params, "version_compatible", False)
    s.legacy_weak_typing = _bool(params, "legacy_weak_typing", False)
    s.timing_cache = _bool(params, "timing_cache", True)
    cache_dir = params.get("timing_cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise UserError("timing_cache_dir must be a path string", code="BAD_PARAM")
    s.timing_cache_dir = cache_dir or None
    s.input_shapes = _input_shapes(params.get("input_shapes") or {})
    s.max_batch, s.max_batch_given = _max_batch(params)
    s.lock = _lock(params.get("lock") or [])
    return s


def _choice(params: dict, key: str, options: tuple[str, ...], default: str) -> str:
    value = params.get(key, default)
    if value is None:
        return default
    if value not in options:
        raise UserError(f"{key} must be one of {', '.join(options)}, got '{value}'", code="BAD_PARAM")
    return value


def _int(params: dict, key: str, lo: int, hi: int | None = None) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        bounds = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise UserError(f"{key} must be an integer {bounds}, got {value!r}", code="BAD_PARAM")
    return value


def _bool(params: dict, key: str, default: bool) -> bool:
    value = params.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise UserError(f"{key} must be true or false, got {value!r}", code="BAD_PARAM")
    return value


def _dims(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                       for d in value):
        raise UserError(f"{where} must be a list of non-negative integers, got {value!r}", code="BAD_SHAPE")
    return tuple(value)


def _input_shapes(raw: Any) -> dict[str, ShapeRange]:
    if not isinstance(raw, dict):
        raise UserError("input_shapes must map input names to {min, opt, max}", code="BAD_SHAPE")
    out: dict[str, ShapeRange] = {}
    for name, r in raw.items():
        if not isinstance(r, dict):
            raise UserError(f"input_shapes.{name} must be {{min, opt, max}}", code="BAD_SHAPE", input=name)
        given = {k: _dims(r[k], f"input_shapes.{name}.{k}") for k in ("min", "opt", "max") if r.get(k) is not None}
        if not given:
            continue
        # A partial range is completed from what is given: a single shape is fixed;
        # min+max without opt optimizes for max (the throughput case).
        mx = given.get("max") or given.get("opt") or given.get("min")
        mn = given.get("min") or given.get("opt") or mx
        opt = given.get("opt") or mx
        if not len(mn) == len(opt) == len(mx):
            raise UserError(f"input_shapes.{name}: min, opt and max must have the same rank", code="BAD_SHAPE",
                            input=name)
        if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
            raise UserError(f"input_shapes.{name}: need min <= opt <= max on every axis, got min {list(mn)}, "
                            f"opt {list(opt)}, max {list(mx)}", code="BAD_SHAPE", input=name)
        out[name] = ShapeRange(mn, opt, mx)
    return out


def _max_batch(params: dict) -> tuple[int, bool]:
    for key in ("max_batch", "batch"):
        value = params.get(key)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
            raise UserError(f"{key} must be a positive integer (or a list of them), got {value!r}", code="BAD_PARAM")
        return max(values), True
    return DEFAULT_MAX_BATCH, False


def _lock(rows: Any) -> dict[str, str]:
    if not isinstance(rows, list):
        raise UserError("lock must be a list of {node, resolved} rows", code="BAD_PARAM")
    out = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "node" not in row or "resolved" not in row:
            raise UserError(f"lock[{i}] must have `node` and `resolved`", code="BAD_PARAM")
        out[str(row["node"])] = str(row["resolved"])
    return out
