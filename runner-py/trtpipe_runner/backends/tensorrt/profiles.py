"""Optimization profiles: which shape range each dynamic input is built for.

A TensorRT engine with dynamic inputs needs one optimization profile with a
min/opt/max shape per dynamic input, and only runs shapes inside it. Where
they come from, per input:
1. `input_shapes[input]` (the pipeline's `model.inputs`), checked against the
   network: same rank, fixed axes unchanged;
2. otherwise, when only the first (batch) axis is dynamic: min = 1 and
   opt = max = the largest batch the pipeline runs (`max_batch`). opt = max
   tunes kernels for the batch the benchmarks and evaluation actually use;
3. otherwise the input has other dynamic axes (sequence length, image size)
   and there is no sane guess: a UserError asks for the range.
Static inputs need no entry. Pure: no tensorrt import; tested directly.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from ...errors import UnsupportedError, UserError
from .settings import ShapeRange, TrtBuildSettings


@dataclass(frozen=True)
class NetworkInput:
    """What the parsed network says about one input (-1 marks a dynamic axis)."""

    name: str
    shape: tuple[int, ...]
    is_shape_tensor: bool = False


@dataclass(frozen=True)
class ProfileEntry:
    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]
    source: str  # "input_shapes" | "max_batch 32"

    def to_json(self) -> dict:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max), "source": self.source}


def derive_profile(inputs: list[NetworkInput], settings: TrtBuildSettings) -> list[ProfileEntry]:
    """The profile entries for the network's dynamic inputs (empty if all are static).

    Args:
        inputs: the network's inputs, in order.
        settings: validated build settings (input_shapes, max_batch).

    Returns:
        One ProfileEntry per input that is dynamic or has a declared range.
    """
    names = [i.name for i in inputs]
    for name in settings.input_shapes:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (inputs: {', '.join(names)})"
            raise UserError(f"model.inputs names '{name}', which is not an input of the model{hint}",
                            code="BAD_SHAPE", input=name)
    entries = []
    for inp in inputs:
        declared = settings.input_shapes.get(inp.name)
        dynamic = [axis for axis, d in enumerate(inp.shape) if d < 0]
        if inp.is_shape_tensor:
            raise UnsupportedError(f"input '{inp.name}' is a shape tensor; trtpipe cannot build profiles for "
                                   "shape-tensor inputs yet", code="SHAPE_TENSOR_INPUT", input=inp.name)
        if declared is not None:
            _check_declared(inp, declared)
            entries.append(ProfileEntry(inp.name, declared.min, declared.opt, declared.max, "input_shapes"))
        elif not dynamic:
            continue
        elif dynamic == [0]:
            rest = tuple(inp.shape[1:])
            b = settings.max_batch
            entries.append(ProfileEntry(inp.name, (1, *rest), (b, *rest), (b, *rest), f"max_batch {b}"))
        else:
            axes = ", ".join(str(a) for a in dynamic if a != 0)
            raise UserError(
                f"input '{inp.name}' has dynamic axes other than the batch axis ({axes}; shape "
                f"{_fmt(inp.shape)}), and TensorRT needs a range for each: declare it in the pipeline as "
                f"model.inputs.{inp.name}: {{min: [...], opt: [...], max: [...]}}",
                code="SHAPE_RANGE_MISSING", input=inp.name)
    return entries


def _check_declared(inp: NetworkInput, r: ShapeRange) -> None:
    if len(r.min) != len(inp.shape):
        raise UserError(f"model.inputs.{inp.name} has rank {len(r.min)}, the model's input has rank "
                        f"{len(inp.shape)} {_fmt(inp.shape)}", code="BAD_SHAPE", input=inp.name)
    for axis, fixed in enumerate(inp.shape):
        if fixed >= 0 and not (r.min[axis] == r.opt[axis] == r.max[axis] == fixed):
            raise UserError(f"model.inputs.{inp.name}: axis {axis} is fixed to {fixed} in the model, but the "
                            f"range says min {r.min[axis]}, opt {r.opt[axis]}, max {r.max[axis]}",
                            code="BAD_SHAPE", input=inp.name)


def _fmt(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join("?" if d < 0 else str(d) for d in shape) + "]"
