"""FP16/BF16 storage emulation for backends that would silently compute in FP32.

ONNX Runtime's CPU provider forces FP32 for FP16 graphs: it casts FP16
initializers up and drops the casts between nodes, so an "fp16" graph gives
FP32 numbers there (see docs/decisions.md). To show on a CPU what the low
precision really does (overflow to Inf, rounding error), this pass rewrites an
annotated graph into an FP32 graph in which every tensor the annotated graph
stores in FP16/BF16 is rounded through that type (Cast to low, Cast back).
ONNX Runtime keeps such explicit round trips. The math itself runs in FP32,
like GPU kernels that accumulate in FP32 and store FP16.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper, numpy_helper

LOW = (TensorProto.FLOAT16, TensorProto.BFLOAT16)
FLOAT = TensorProto.FLOAT


def emulate_low_precision(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Returns (FP32 model with low-precision rounding points, number of them)."""
    from ..model.tensors import tensor_types

    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    types = tensor_types(m)

    for init in g.initializer:
        if init.data_type in LOW:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype("float32"), init.name))
    for node in g.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and attr.t.data_type in LOW:
                    attr.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attr.t).astype("float32"), attr.t.name))

    ordered, rounding_points = [], 0
    renames: dict[str, str] = {}
    for inp in g.input:
        t = inp.type.tensor_type.elem_type
        if t in LOW:  # io lowered: the feed is FP16, compute from its FP32 value
            renames[inp.name] = f"{inp.name}__emu"
            ordered.append(helper.make_node("Cast", [inp.name], [renames[inp.name]], name=f"trtpipe/emu/{inp.name}", to=FLOAT))
    for node in g.node:
        node.input[:] = [renames.get(i, i) for i in node.input]
        tail = []
        for k, out in enumerate(node.output):
            low = types.get(out)
            if low not in LOW:
                continue
            rounding_points += 1
            acc = f"{out}__emu_acc"
            node.output[k] = acc
            if node.op_type == "Cast":  # already rounds to the low type: only come back
                tail.append(helper.make_node("Cast", [acc], [out], name=f"trtpipe/emu/{out}/up", to=FLOAT))
            else:
                low_name = f"{out}__emu_low"
                tail.append(helper.make_node("Cast", [acc], [low_name], name=f"trtpipe/emu/{out}/round", to=low))
                tail.append(helper.make_node("Cast", [low_name], [out], name=f"trtpipe/emu/{out}/up", to=FLOAT))
        ordered.append(node)
        ordered.extend(tail)
    del g.node[:]
    g.node.extend(ordered)
    for vi in list(g.value_info) + list(g.output):
        if vi.type.tensor_type.elem_type in LOW:
            vi.type.tensor_type.elem_type = FLOAT
    keep = [vi for vi in g.value_info]
    del g.value_info[:]
    g.value_info.extend(keep)
    return m, rounding_points
