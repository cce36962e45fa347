"""Rewrites a FP32 graph so each node computes in the float type decided for it.

The result is the precision-annotated model: the types in the graph say what
runs, which is all a strongly typed TensorRT build (and any ONNX backend)
needs. Mechanics:
- a lowered node's eligible float slots (see op_support) take the low type;
- where a tensor's stored type differs from what a consumer needs, one Cast
  per (tensor, type) is inserted right after the producer and shared;
- FP32 initializers feeding only low nodes are converted in place, those with
  mixed consumers get a converted copy;
- graph inputs and outputs keep FP32 when io is `keep`: the producer of an
  output is renamed and a Cast restores the original name and type.
Explicit Casts in the model are left alone and their outputs keep their type,
which avoids the "Type (tensor(float16)) does not match expected type"
failures other converters hit.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import InternalError
from ..model.load import opset_version
from ..model.tensors import tensor_types
from .graph_edit import insert_after_producers
from .op_support import TYPE_AGNOSTIC_INPUTS, plan_lowering
from .types import ELEM_TYPE, QUANTIZED, SHORT

FLOAT = TensorProto.FLOAT


def annotate(model: onnx.ModelProto, decisions: list, keep_io: bool = True,
             quantized_as: str = "fp32") -> tuple[onnx.ModelProto, dict]:
    """Returns (annotated copy of `model`, counts of what was inserted/converted).

    Args:
        model: FP32 model with named nodes.
        decisions: NodeDecision per node (precision.policy.resolve).
        keep_io: graph inputs/outputs stay FP32.
        quantized_as: the float type int8/fp8 nodes compute in between their DequantizeLinear
            inputs and their output (qdq.insert_qdq then gives their Q/DQ scales this type).
    """
    model = _copy(model)
    g = model.graph
    types = tensor_types(model)
    opset = opset_version(model)
    by_name = {d.node: d for d in decisions}

    stored: dict[str, int] = dict(types)  # tensor -> element type after rewriting
    needs: list[tuple[int, int, int]] = []  # (node index, input slot, required type)
    for ni, node in enumerate(g.node):
        d = by_name.get(node.name)
        low = ELEM_TYPE.get(quantized_as if d and d.resolved in QUANTIZED else d.resolved) if d else None
        lowered_in: set[int] = set()
        if low is not None and low != FLOAT:
            plan = plan_lowering(node, low, types, opset)
            if not plan.ok:
                raise InternalError(f"node '{node.name}' was resolved to {d.resolved} but cannot take it ({plan.detail})")
            lowered_in = plan.inputs
            for slot in plan.outputs:
                stored[node.output[slot]] = low
        for slot, tensor in enumerate(node.input):
            if not tensor or types.get(tensor) != FLOAT or node.op_type in TYPE_AGNOSTIC_INPUTS:
                continue
            needs.append((ni, slot, low if slot in lowered_in else FLOAT))

    inits = {i.name: i for i in g.initializer}
    consumers_want: dict[str, set[int]] = {}
    for ni, slot, want in needs:
        consumers_want.setdefault(g.node[ni].input[slot], set()).add(want)

    counts = {"casts": 0, "initializers_converted": 0, "initializer_copies": 0}
    graph_inputs = {i.name for i in g.input}
    graph_outputs = {o.name for o in g.output}
    constants = {n.output[0]: n for n in g.node if n.op_type == "Constant" and n.output}
    init_copy: dict[tuple[str, int], str] = {}
    for name, wants in consumers_want.items():
        const = constants.get(name)
        if const is not None and name not in graph_outputs and len(wants) == 1 and wants != {FLOAT}:
            # A float Constant read only in one low type becomes that type (no Cast).
            if _convert_constant(const, next(iter(wants))):
                stored[name] = next(iter(wants))
                counts["initializers_converted"] += 1
            continue
        if name in inits and name not in graph_inputs:
            if wants != {FLOAT} and len(wants) == 1:
                _convert_initializer(inits[name], next(iter(wants)))
                stored[name] = next(iter(wants))
                counts["initializers_converted"] += 1
            else:
                for want in wants - {FLOAT}:
                    copy_name = f"{name}__{SHORT[want]}"
                    copy = onnx.TensorProto()
                    copy.CopyFrom(inits[name])
                    copy.name = copy_name
                    _convert_initializer(copy, want)
                    g.initializer.append(copy)
                    init_copy[(name, want)] = copy_name
                    stored[copy_name] = want
                    counts["initializer_copies"] += 1

    casts: dict[tuple[str, int], str] = {}
    new_nodes: dict[str, list] = {}  # producer output tensor -> Cast nodes to place after it

    def cast_of(tensor: str, want: int) -> str:
        key = (tensor, want)
        if key not in casts:
            out = f"{tensor}__{SHORT[want]}"
            casts[key] = out
            new_nodes.setdefault(tensor, []).append(
                helper.make_node("Cast", [tensor], [out], name=f"trtpipe/cast/{tensor}/to_{SHORT[want]}", to=want)
            )
            stored[out] = want
            counts["casts"] += 1
        return casts[key]

    for ni, slot, want in needs:
        node = g.node[ni]
        tensor = node.input[slot]
        if (tensor, want) in init_copy:
            node.input[slot] = init_copy[(tensor, want)]
        elif stored.get(tensor) != want:
            node.input[slot] = cast_of(tensor, want)

    if keep_io:
        _restore_output_types(g, stored, new_nodes, counts)
    insert_after_producers(g, new_nodes, "casts")
    _retype_value_info(g, stored)
    return model, counts


def _restore_output_types(g, stored: dict[str, int], new_nodes: dict, counts: dict) -> None:
    """Graph outputs keep FP32: the producer writes `<name>__fp16`, a Cast writes `<name>`."""
    for out in g.output:
        t = stored.get(out.name)
        if t is None or t == FLOAT or out.type.tensor_type.elem_type != FLOAT:
            continue
        internal = f"{out.name}__{SHORT[t]}"
        for node in g.node:
            node.output[:] = [internal if o == out.name else o for o in node.output]
            node.input[:] = [internal if i == out.name else i for i in node.input]
        for follower in new_nodes.pop(out.name, []):
            follower.input[:] = [internal if i == out.name else i for i in follower.input]
            new_nodes.setdefault(internal, []).append(follower)
        stored[internal] = t
        new_nodes.setdefault(internal, []).append(
            helper.make_node("Cast", [internal], [out.name], name=f"trtpipe/cast/{out.name}/to_fp32", to=FLOAT)
        )
        stored[out.name] = FLOAT
        counts["casts"] += 1


def _retype_value_info(g, stored: dict[str, int]) -> None:
    for vi in list(g.value_info) + list(g.output):
        t = stored.get(vi.name)
        if t is not None and vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type != t:
            vi.type.tensor_type.elem_type = t


def _convert_initializer(init: onnx.TensorProto, want: int) -> None:
    arr = numpy_helper.to_array(init)
    if want == TensorProto.FLOAT16:
        with np.errstate(over="ignore"):  # only nodes a rule pinned get here with |w| > 65504
            converted = arr.astype(np.float16)
    elif want == TensorProto.BFLOAT16:
        import ml_dtypes

        converted = arr.astype(ml_dtypes.bfloat16)
    else:
        raise InternalError(f"cannot convert an initializer to element type {want}")
    init.CopyFrom(numpy_helper.from_array(converted, init.name))


def _convert_constant(node, want: int) -> bool:
    """Retypes a Constant's `value` tensor in place; False if it has another form."""
    for attr in node.attribute:
        if attr.name == "value" and attr.t.data_type == TensorProto.FLOAT:
            _convert_initializer(attr.t, want)
            return True
    return False


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    return m


def check_annotated(model: onnx.ModelProto) -> onnx.ModelProto:
    """Full checker plus strict, type-checked shape inference; returns the inferred model.

    Raises InternalError: a graph trtpipe wrote must always be valid.
    """
    try:
        onnx.checker.check_model(model, full_check=True)
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise InternalError(f"the annotated graph is invalid: {str(exc).strip().splitlines()[0]}") from None
