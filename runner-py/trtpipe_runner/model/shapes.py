"""Concrete tensor shapes for cost and reduction-size estimates.

Symbolic dimensions (the batch, usually) are pinned to 1 and shape inference
is run with data propagation, so most tensors get concrete shapes even
through Shape/Reshape chains. Unknown dimensions come back as None.
"""
from __future__ import annotations

import onnx


def concrete_shapes(model: onnx.ModelProto, batch: int = 1) -> dict[str, list[int | None]]:
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name for i in m.graph.initializer}
    for inp in m.graph.input:
        if inp.name in inits:
            continue
        for d in inp.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.dim_value = batch
    try:
        m = onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - estimates only: fall back to what is declared
        pass
    shapes: dict[str, list[int | None]] = {}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    for init in m.graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def attr(node, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def numel(shape: list[int | None] | None) -> int | None:
    if shape is None or any(d is None for d in shape):
        return None
    n = 1
    for d in shape:
        n *= int(d)
    return n
