"""Which of a node's tensors may take a lower float type, read from ONNX schemas.

The ONNX operator schemas say, per opset, which element types each input and
output accepts. A node can compute in FP16/BF16 only if the type constraint
of its main output allows that type at the model's opset; its other float
slots follow if their own constraints allow it (BatchNormalization's mean and
variance, say) and stay FP32 otherwise (Resize's scales). Reading this from
the schemas instead of a hand-kept op list keeps it right for every opset.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import onnx
from onnx import TensorProto

from ..contract.vocabulary import EXPLICIT_TYPE, UNSUPPORTED_TYPE
from .types import TYPE_STR

# Ops whose float output type is set by an attribute, not by their inputs:
# their stated types are respected and downstream nodes get Casts instead.
EXPLICITLY_TYPED = {
    "Cast", "CastLike", "Constant", "ConstantOfShape", "EyeLike", "RandomNormal", "RandomUniform",
    "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
}

# Ops whose inputs accept any type as is: no Cast is ever inserted in front of
# them (Cast(fp16 -> int64) needs no Cast(fp16 -> fp32) before it).
TYPE_AGNOSTIC_INPUTS = {"Cast", "CastLike", "Shape", "Size"}


@dataclass
class Lowering:
    """Which input/output slots of a node take the low type, or why none can."""

    ok: bool
    reason: str = ""
    detail: str = ""
    inputs: set[int] = field(default_factory=set)
    outputs: set[int] = field(default_factory=set)


def float_slots(node, types: dict[str, int]) -> tuple[list[int], list[int]]:
    """Indices of the node's inputs and outputs that are FP32 tensors."""
    ins = [i for i, t in enumerate(node.input) if t and types.get(t) == TensorProto.FLOAT]
    outs = [i for i, t in enumerate(node.output) if t and types.get(t) == TensorProto.FLOAT]
    return ins, outs


def does_float_math(node, types: dict[str, int]) -> bool:
    """False for nodes whose precision cannot matter: no FP32 tensor at all,
    ops that only read their input's metadata (Shape, Size), and constants
    (a Constant computes nothing; its consumers decide the type they read)."""
    ins, outs = float_slots(node, types)
    if node.op_type in ("Shape", "Size", "Constant"):
        return False
    return bool(ins or outs)


def plan_lowering(node, low: int, types: dict[str, int], opset: int) -> Lowering:
    """Decides which FP32 slots of `node` can become `low` (FLOAT16/BFLOAT16)."""
    if node.op_type in EXPLICITLY_TYPED:
        return Lowering(False, EXPLICIT_TYPE, f"{node.op_type} states its output type itself")
    if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
        return Lowering(False, "CONTROL_FLOW", f"{node.op_type} has subgraphs; trtpipe keeps them as they are")
    try:
        schema = onnx.defs.get_schema(node.op_type, opset, node.domain or "")
    except onnx.defs.SchemaError:
        return Lowering(False, "UNKNOWN_OP", f"no ONNX schema for {node.domain or 'ai.onnx'}::{node.op_type}")
    allowed = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
    want = TYPE_STR[low]
    ins, outs = float_slots(node, types)

    def constraint(params, index: int) -> str | None:
        if not params:
            return None
        formal = params[min(index, len(params) - 1)]
        if index >= len(params) and formal.option != onnx.defs.OpSchema.FormalParameterOption.Variadic:
            return None
        return formal.type_str

    in_c = {i: constraint(schema.inputs, i) for i in ins}
    out_c = {i: constraint(schema.outputs, i) for i in outs}
    # The constraint of the first float output (or input, for ops with no
    # float output) decides whether the node computes in the low type at all.
    primary = out_c[outs[0]] if outs else in_c[ins[0]]
    if primary not in allowed or want not in allowed[primary]:
        return Lowering(False, UNSUPPORTED_TYPE,
                        f"{node.op_type} has no {want[7:-1]} variant at opset {opset}")
    lowered_in = {i for i, c in in_c.items() if c in allowed and want in allowed[c]}
    lowered_out = {i for i, c in out_c.items() if c in allowed and want in allowed[c]}
    return Lowering(True, inputs=lowered_in, outputs=lowered_out)


def first_opset_supporting(node, low: int, types: dict[str, int], current: int, newest: int = 0) -> int | None:
    """The lowest opset above `current` where `node` could compute in `low`."""
    newest = newest or onnx.defs.onnx_opset_version()
    for opset in range(current + 1, newest + 1):
        if plan_lowering(node, low, types, opset).ok:
            return opset
    return None
