"""A model that also returns some of its intermediate tensors, for looking inside it."""
from __future__ import annotations

import onnx

from .tensors import tensor_types


def with_outputs(model: onnx.ModelProto, tensors: list[str]) -> tuple[onnx.ModelProto, dict[str, str]]:
    """A copy of `model` whose graph also outputs `tensors`, each typed as the graph types it.

    The model's own outputs stay first. Returns the copy and {tensor: why not} for the
    tensors it cannot output: names the graph does not produce, and graph inputs or
    initializers (a backend returns only computed tensors).
    """
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    types = tensor_types(model)
    produced = {t for n in g.node for t in n.output if t}
    present = {o.name for o in g.output}
    missing: dict[str, str] = {}
    for t in dict.fromkeys(tensors):
        if t in present:
            continue
        if t not in produced:
            missing[t] = "no node of the built graph produces it"
            continue
        g.output.append(onnx.helper.make_tensor_value_info(t, types.get(t, onnx.TensorProto.FLOAT), None))
        present.add(t)
    return out, missing
