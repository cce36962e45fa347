"""Tensor names, types and shapes of an ONNX graph."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, numpy dtype name and shape.

    Shape entries are ints for fixed dimensions and strings (the symbolic name,
    or "?") for dynamic ones.
    """

    name: str
    dtype: str
    shape: tuple

    def to_json(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


def elem_type_to_dtype(elem_type: int) -> str:
    import onnx

    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, ValueError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def _spec(value_info) -> TensorSpec:
    t = value_info.type.tensor_type
    dims = []
    for d in t.shape.dim:
        # Some exporters (Paddle2ONNX) write a dynamic dimension as dim_value -1.
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param or "?")
    return TensorSpec(value_info.name, elem_type_to_dtype(t.elem_type), tuple(dims))


def graph_inputs(model) -> list[TensorSpec]:
    """The real inputs: graph inputs that are not initializers."""
    inits = {i.name for i in model.graph.initializer}
    return [_spec(v) for v in model.graph.input if v.name not in inits]


def graph_outputs(model) -> list[TensorSpec]:
    return [_spec(v) for v in model.graph.output]


def tensor_types(model) -> dict[str, int]:
    """Element type of every tensor the graph names, after shape inference.

    Falls back to what the model declares when inference cannot type a tensor.
    """
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - inference is best effort here; declared types remain
        inferred = model
    g = inferred.graph
    types: dict[str, int] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
            types[vi.name] = vi.type.tensor_type.elem_type
    for init in g.initializer:
        types[init.name] = init.data_type
    for node in g.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    types[node.output[0]] = attr.t.data_type
                elif attr.name in ("value_float", "value_floats"):
                    types[node.output[0]] = onnx.TensorProto.FLOAT
    return types
