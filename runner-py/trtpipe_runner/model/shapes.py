"""Concrete tensor shapes for cost and reduction-size estimates.

Symbolic dimensions take the shapes the caller knows (the pipeline's
declared `inputs.opt`, or the evaluation data's), else 1; shape inference is
run with data propagation, so most tensors get concrete shapes even through
Shape/Reshape chains. Unknown dimensions come back as None.
"""
from __future__ import annotations

import onnx


def concrete_shapes(model: onnx.ModelProto, batch: int = 1,
                    inputs: dict[str, list[int]] | None = None) -> dict[str, list[int | None]]:
    """Shapes of every tensor.

    Args:
        model: the model.
        batch: the value of a symbolic dimension nothing else gives.
        inputs: concrete shapes of graph inputs; they fill the symbolic dimensions
            of those inputs (a fixed dimension of the model stays as it is).
    """
    m = onnx.ModelProto()
    m.CopyFrom(model)
    # Shapes recorded with symbolic dimensions (the opset converter writes them) would be kept
    # as they are: infer everything again from the pinned inputs.
    del m.graph.value_info[:]
    inits = {i.name for i in m.graph.initializer}
    for inp in m.graph.input:
        if inp.name in inits:
            continue
        given = (inputs or {}).get(inp.name)
        dims = inp.type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            if not d.HasField("dim_value") or d.dim_value <= 0:  # -1: dynamic, as Paddle2ONNX writes it
                d.dim_value = int(given[i]) if given is not None and len(given) == len(dims) else batch
    try:
        m = onnx.shape_inference.infer_shapes(m, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - estimates only: fall back to what is declared
        pass
    shapes: dict[str, list[int | None]] = {}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in t.shape.dim]
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
