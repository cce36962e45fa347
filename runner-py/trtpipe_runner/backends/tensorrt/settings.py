"""The TensorRT build settings of a target, validated in one visible place.

The build stage hands every backend the target's `build:` block plus the
cell's `precision` (src/plan/graph.ts), checked against the stage contract
(proto/trtpipe/runner/v1/contract/stages/build.schema.json). This module turns
them into a typed `TrtBuildSettings`. It does not import tensorrt: config.py
applies the result to a real builder config.

Keys (precision and max_batch required, the others optional):
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

from ...contract.stages import BuildParams
from ...errors import UserError

HARDWARE_COMPATIBILITY = ("none", "ampere_plus", "same_compute_capability")


@dataclass(frozen=True)
class ShapeRange:
    """min/opt/max shapes of one input for an optimization profile."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


@dataclass
class TrtBuildSettings:
    precision: str
    max_batch: int
    workspace_mib: int | None = None
    optimization_level: int | None = None
    hardware_compatibility: str = HARDWARE_COMPATIBILITY[0]
    version_compatible: bool = False
    legacy_weak_typing: bool = False
    input_shapes: dict[str, ShapeRange] = field(default_factory=dict)
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


def parse_settings(params: dict[str, Any] | BuildParams) -> TrtBuildSettings:
    """The TensorRT settings of a build.

    Args:
        params: the build stage's params (contract/stages/build.schema.json: the target's build
            settings and the cell's precision); a dict is checked against the contract first, so
            a missing or malformed key is a UserError naming it.

    Returns:
        TrtBuildSettings; absent optional keys mean what the contract says (TensorRT decides).
    """
    p = BuildParams.parse(params, "params") if isinstance(params, dict) else params
    if p.numerics != "native":
        raise UserError(f"numerics '{p.numerics}' is for the onnxruntime backend; TensorRT runs natively "
                        "(remove `numerics` from this target)", code="BAD_PARAM")
    max_batch = p.max_batch if p.max_batch is not None else p.batch
    if max_batch is None:
        raise UserError("params.max_batch is missing: an engine runs only the batch sizes of its optimization "
                        "profile (the orchestrator sends the largest batch evaluate and benchmark run)",
                        code="PARAM_MISSING")
    return TrtBuildSettings(
        precision=p.precision, workspace_mib=p.workspace_mib, optimization_level=p.optimization_level,
        hardware_compatibility=p.hardware_compatibility or HARDWARE_COMPATIBILITY[0],
        version_compatible=p.version_compatible is True, legacy_weak_typing=p.legacy_weak_typing is True,
        input_shapes=_input_shapes(p.input_shapes or {}), max_batch=max_batch,
        lock=_lock(p.lock or []), timing_cache=p.timing_cache, timing_cache_dir=p.timing_cache_dir)


def parse_lock(rows: list[dict[str, Any]] | None) -> dict[str, str]:
    """node -> resolved precision of lock rows (legacy mode and explain)."""
    return {str(r["node"]): str(r["resolved"]) for r in rows or []}


def _input_shapes(raw: dict[str, Any]) -> dict[str, ShapeRange]:
    out: dict[str, ShapeRange] = {}
    for name, r in raw.items():
        given: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in (("min", r.min), ("opt", r.opt), ("max", r.max))
                                             if v is not None}
        if not given:
            continue
        # A partial range is completed from what is given: a single shape is fixed;
        # min+max without opt optimizes for max (the throughput case).
        mx = given.get("max") or given.get("opt") or given["min"]
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


def _lock(rows: list[Any]) -> dict[str, str]:
    return {str(r.node): str(r.resolved) for r in rows}
