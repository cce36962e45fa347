"""The op registry: ONNX op type -> a compiler that turns one node into a callable.

A compiler runs once per node when a plan is built, never per inference: it
reads attributes, bakes constant inputs (shapes, axes, scales) into Python
values and returns `fn(*inputs)`, which gets every node input positionally
(None for an absent optional input) and returns one tensor, or a tuple for
nodes with several outputs. Everything a kernel needs is resolved before the
first run, so a run is only the torch calls themselves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ....errors import UserError


@dataclass(frozen=True)
class OpDef:
    """How to compile one op type, and what its inputs mean.

    shape_inputs: input slots that carry shapes, axes, sizes or counts; they
        are read as Python values (baked in when constant), so they never
        force a device-to-host copy once a plan is specialized.
    meta_inputs: input slots whose shape alone is read (Shape, Size), so
        their data may stay wherever it is.
    data_dependent: the output shape depends on input values (NonZero-like),
        which rules out specializing plans per input shape.
    """

    compile: Callable
    shape_inputs: frozenset = frozenset()
    meta_inputs: frozenset = frozenset()
    data_dependent: bool = False


REGISTRY: dict[str, OpDef] = {}


def register(*op_types: str, shape_inputs=(), meta_inputs=(), data_dependent: bool = False):
    """Decorator: registers a compiler for the given ONNX op types (default domain)."""
    def deco(fn):
        for op in op_types:
            REGISTRY[op] = OpDef(fn, frozenset(shape_inputs), frozenset(meta_inputs), data_dependent)
        return fn
    return deco


@dataclass
class NodeView:
    """What a compiler sees of one node: attributes, types, constant inputs."""

    name: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    opset: int
    in_types: list[Any] = field(default_factory=list)  # torch dtype or None, per input
    out_types: list[Any] = field(default_factory=list)  # torch dtype or None, per output
    consts: dict[int, Any] = field(default_factory=dict)  # input slot -> torch tensor known before running
    # Where the node's outputs live: the CPU for host work (shapes, folding at load), else the
    # plan's device. Ops that make a tensor from values (Range, ConstantOfShape) make it here.
    device: Any = "cpu"

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def has_input(self, slot: int) -> bool:
        return slot < len(self.inputs) and bool(self.inputs[slot])

    def const(self, slot: int):
        """The input's value if known when the plan is built, else None."""
        return self.consts.get(slot)

    def const_list(self, slot: int) -> list | None:
        """A constant input as a Python list (shapes, axes, pads), else None."""
        value = self.consts.get(slot)
        return None if value is None else value.reshape(-1).tolist()

    def const_scalar(self, slot: int):
        value = self.consts.get(slot)
        return None if value is None else value.reshape(-1)[0].item()

    def fail(self, what: str, code: str = "UNSUPPORTED_OP") -> UserError:
        """A UserError naming this node, for attribute values the backend cannot run."""
        return UserError(f"the torch backend cannot run node '{self.name}' ({self.op_type}): {what}",
                         code=code, node=self.name)

    def out_dtype(self, slot: int = 0):
        return self.out_types[slot] if slot < len(self.out_types) else None

    def in_dtype(self, slot: int = 0):
        return self.in_types[slot] if slot < len(self.in_types) else None


def to_list(value) -> list:
    """A runtime shape/axes argument (tensor or list) as a Python list of ints."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return [int(v) for v in value.reshape(-1).tolist()]


def load_all() -> dict[str, OpDef]:
    """Imports every op family module (each registers itself) and returns the registry."""
    from . import (  # noqa: F401
        attention,
        conv_pool,
        elementwise,
        indexing,
        layout,
        matmul,
        normalization,
        qgemm,
        quant,
        reduce,
        resize,
        shape,
    )

    return REGISTRY
