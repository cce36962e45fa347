"""tensor_types: shape inference on the graph without its weights gives the types it gives with them."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from trtpipe_runner.model.load import load_model
from trtpipe_runner.model.tensors import tensor_types, without_weights

from ..fixtures.models import EXAMPLES, residual_cnn


def _types_with_weights(model) -> dict[str, int]:
    """What main's tensor_types computed: inference over the whole model, weights included."""
    g = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True).graph
    out = {vi.name: vi.type.tensor_type.elem_type for vi in [*g.input, *g.value_info, *g.output]
           if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type}
    out.update({i.name: i.data_type for i in g.initializer})
    return out


def _reshape_by_initializer():
    """Reshape whose target shape is an int64 initializer, after a Gemm with a large weight:
    data propagation must still read the shape."""
    w = numpy_helper.from_array(np.ones((64, 32), np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 4, 8], np.int64), "shape")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Reshape", ["h", "shape"], ["r"], name="reshape"),
             helper.make_node("Cast", ["r"], ["y"], name="cast", to=T.FLOAT16)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, ["N", 64])],
                          [helper.make_tensor_value_info("y", T.FLOAT16, None)], [w, shape])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("name", ["digits", "transformer", "overflow", "residual_cnn", "reshape"])
def test_types_match_inference_with_weights(name):
    model = {"residual_cnn": residual_cnn, "reshape": _reshape_by_initializer}.get(name)
    model = model() if model else load_model(EXAMPLES / name / "model.onnx")
    assert tensor_types(model) == _types_with_weights(model)


def test_without_weights_keeps_shapes_and_small_initializers():
    model = _reshape_by_initializer()
    light = without_weights(model)
    inits = {i.name: i for i in light.graph.initializer}
    assert list(inits["w"].dims) == [64, 32] and not inits["w"].raw_data and not inits["w"].float_data
    assert numpy_helper.to_array(inits["shape"]).tolist() == [-1, 4, 8]
    assert light.ByteSize() < model.ByteSize() / 10
    inferred = onnx.shape_inference.infer_shapes(light, data_prop=True)
    r = next(v for v in inferred.graph.value_info if v.name == "r")
    assert [d.dim_value for d in r.type.tensor_type.shape.dim][1:] == [4, 8]
