"""The JSON stage inputs one stage hands another (ranges, scales, a search result), read and
checked as the consumer uses them.

The orchestrator passes the producing stage's output; a direct client can pass any artifact under
these names. Whatever it is, a wrong one is a STAGE_INPUT_INVALID user error naming the input,
not a KeyError or AttributeError in the stage.
"""
from __future__ import annotations

from typing import Any

from ..errors import UserError
from ..untrusted import parse_json_object
from .context import StageContext

CODE = "STAGE_INPUT_INVALID"


def _read(ctx: StageContext, name: str) -> dict[str, Any]:
    return parse_json_object(ctx.input_path(name).read_bytes(), f"stage input '{name}'", CODE)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _refuse(name: str, expected: str) -> UserError:
    return UserError(f"stage input '{name}' is not {expected} (is it the output of the right stage?)", code=CODE)


def search_keep(ctx: StageContext) -> list[str]:
    """The nodes a search result keeps in fp32 (input `search`: {"kept": [node, ...]})."""
    kept = _read(ctx, "search").get("kept")
    if not isinstance(kept, list) or not all(isinstance(n, str) for n in kept):
        raise _refuse("search", "a search result ({\"kept\": [node names]})")
    return kept


def ranges_absmax(ctx: StageContext) -> dict[str, float]:
    """Absolute maximum per tensor of the FP32 reference (input `ranges`: {tensor: {"absmax": x, ...}})."""
    raw = _read(ctx, "ranges")
    if not all(isinstance(v, dict) and _number(v.get("absmax")) for v in raw.values()):
        raise _refuse("ranges", "tensor ranges ({tensor: {\"absmax\": number}})")
    return {k: float(v["absmax"]) for k, v in raw.items()}


def scales(ctx: StageContext) -> dict[str, Any]:
    """Calibration thresholds and smoothing factors (input `scales`), {} without one."""
    if not ctx.has_input("scales"):
        return {}
    raw = _read(ctx, "scales")
    tensors = raw.get("tensors")
    smoothing = raw.get("smoothing")
    factors = smoothing.get("factors") if isinstance(smoothing, dict) else None
    ok = ((tensors is None or (isinstance(tensors, dict) and all(_number(v) for v in tensors.values())))
          and (smoothing is None or isinstance(smoothing, dict))
          and (factors is None or (isinstance(factors, dict) and all(
              isinstance(f, list) and all(_number(x) for x in f) for f in factors.values()))))
    if not ok:
        raise _refuse("scales", "calibration scales ({\"tensors\": {tensor: number}, \"smoothing\": {\"factors\": ...}})")
    return raw
