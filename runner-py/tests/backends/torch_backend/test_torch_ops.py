"""Op-level conversion checks: one-node ONNX graphs on the torch backend (CPU) vs ONNX Runtime CPU."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from .onnx_graphs import run_ort, run_torch, single_node_model  # noqa: E402

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def i64(values):
    return np.array(values, dtype=np.int64)


# (case id, op, graph inputs, attributes, initializers, extra kwargs)
CASES = [
    ("conv-sym", "Conv", {"x": rand(2, 3, 9, 9)}, {"pads": [1, 1, 1, 1], "strides": [2, 2]},
     {"w": rand(4, 3, 3, 3), "b": rand(4)}, {}),
    ("conv-asym-pads", "Conv", {"x": rand(1, 2, 7, 8)}, {"pads": [0, 1, 2, 1]}, {"w": rand(3, 2, 3, 3)}, {}),
    ("conv-same-upper-grouped", "Conv", {"x": rand(1, 4, 10, 10)},
     {"auto_pad": "SAME_UPPER", "group": 2, "strides": [2, 2]}, {"w": rand(6, 2, 3, 3)}, {}),
    ("conv1d", "Conv", {"x": rand(2, 3, 11)}, {"pads": [2, 2]}, {"w": rand(5, 3, 5)}, {}),
    ("conv-transpose", "ConvTranspose", {"x": rand(1, 3, 5, 5)}, {"strides": [2, 2], "pads": [1, 1, 1, 1],
     "output_padding": [1, 1]}, {"w": rand(3, 2, 3, 3), "b": rand(2)}, {}),
    ("maxpool-ceil", "MaxPool", {"x": rand(1, 2, 7, 7)}, {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
     {}, {}),
    ("maxpool-asym", "MaxPool", {"x": rand(1, 2, 6, 6)}, {"kernel_shape": [2, 2], "pads": [0, 0, 1, 1]}, {}, {}),
    ("avgpool-exclude-pad", "AveragePool", {"x": rand(1, 2, 6, 6)}, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
     {}, {}),
    ("avgpool-include-pad", "AveragePool", {"x": rand(1, 2, 6, 6)},
     {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}, {}, {}),
    ("avgpool-asym", "AveragePool", {"x": rand(1, 2, 6, 6)}, {"kernel_shape": [2, 2], "pads": [0, 0, 1, 1]}, {}, {}),
    ("global-avgpool", "GlobalAveragePool", {"x": rand(2, 3, 5, 4)}, {}, {}, {}),
    ("global-maxpool", "GlobalMaxPool", {"x": rand(2, 3, 5, 4)}, {}, {}, {}),
    ("gemm-transb-alpha-beta", "Gemm", {"a": rand(4, 5)}, {"transB": 1, "alpha": 0.5, "beta": 2.0},
     {"b": rand(3, 5), "c": rand(3)}, {}),
    ("gemm-transa", "Gemm", {"a": rand(5, 4)}, {"transA": 1}, {"b": rand(5, 3)}, {}),
    ("matmul-3d-2d", "MatMul", {"a": rand(2, 4, 5)}, {}, {"b": rand(5, 3)}, {}),
    ("matmul-batched", "MatMul", {"a": rand(2, 3, 4, 5), "b": rand(2, 3, 5, 6)}, {}, {}, {}),
    ("einsum", "Einsum", {"a": rand(2, 3, 4), "b": rand(2, 4, 5)}, {"equation": "bij,bjk->bik"}, {}, {}),
    ("batchnorm", "BatchNormalization", {"x": rand(2, 3, 4, 4)}, {"epsilon": 1e-3},
     {"s": rand(3), "b": rand(3), "m": rand(3), "v": np.abs(rand(3)) + 0.5}, {}),
    ("layernorm", "LayerNormalization", {"x": rand(2, 5, 8)}, {"epsilon": 1e-5}, {"s": rand(8), "b": rand(8)}, {}),
    ("layernorm-axis", "LayerNormalization", {"x": rand(2, 5, 8)}, {"axis": 1}, {"s": rand(5, 8)}, {}),
    ("instancenorm", "InstanceNormalization", {"x": rand(2, 3, 5, 5)}, {}, {"s": rand(3), "b": rand(3)}, {}),
    ("softmax-13", "Softmax", {"x": rand(2, 3, 4)}, {"axis": 1}, {}, {}),
    ("softmax-11-coerced", "Softmax", {"x": rand(2, 3, 4)}, {"axis": 1}, {}, {"opset": 11}),
    ("logsoftmax", "LogSoftmax", {"x": rand(3, 7)}, {}, {}, {}),
    ("reducemean-attr", "ReduceMean", {"x": rand(2, 3, 4)}, {"axes": [-1], "keepdims": 1}, {}, {}),
    ("reducesum-input", "ReduceSum", {"x": rand(2, 3, 4)}, {"keepdims": 0}, {"axes": i64([0, 2])}, {}),
    ("reducemax-all", "ReduceMax", {"x": rand(2, 3, 4)}, {"keepdims": 0}, {}, {}),
    ("reducel2-18", "ReduceL2", {"x": rand(2, 3, 4)}, {}, {"axes": i64([1])}, {"opset": 18}),
    ("argmax-last", "ArgMax", {"x": np.array([[1, 3, 3], [2, 2, 0]], np.float32)},
     {"axis": 1, "select_last_index": 1}, {}, {}),
    ("cumsum-exclusive-reverse", "CumSum", {"x": rand(3, 4)}, {"exclusive": 1, "reverse": 1}, {"axis": i64(1)}, {}),
    ("reshape-zero-minus1", "Reshape", {"x": rand(2, 3, 4)}, {}, {"s": i64([0, -1])}, {}),
    ("flatten", "Flatten", {"x": rand(2, 3, 4, 5)}, {"axis": 2}, {}, {}),
    ("transpose", "Transpose", {"x": rand(2, 3, 4)}, {"perm": [2, 0, 1]}, {}, {}),
    ("squeeze", "Squeeze", {"x": rand(2, 1, 4, 1)}, {}, {"a": i64([1, -1])}, {}),
    ("unsqueeze", "Unsqueeze", {"x": rand(2, 4)}, {}, {"a": i64([0, -1])}, {}),
    ("concat", "Concat", {"a": rand(2, 3), "b": rand(2, 5)}, {"axis": -1}, {}, {}),
    ("split-sizes", "Split", {"x": rand(2, 7)}, {"axis": 1}, {"s": i64([2, 5])}, {"outputs": 2}),
    ("split-equal", "Split", {"x": rand(6, 2)}, {}, {}, {"outputs": 3}),
    ("slice-neg-step", "Slice", {"x": rand(5, 6)}, {}, {"st": i64([-1, 4]), "en": i64([-10, 0]),
     "ax": i64([0, 1]), "sp": i64([-2, -1])}, {}),
    ("slice-clamped", "Slice", {"x": rand(5, 6)}, {}, {"st": i64([1]), "en": i64([2**62]), "ax": i64([1])}, {}),
    ("gather-neg-axis1", "Gather", {"x": rand(3, 5, 2)}, {"axis": 1}, {"i": i64([[0, -1], [2, 4]])}, {}),
    ("gather-scalar", "Gather", {"x": rand(3, 5)}, {"axis": 0}, {"i": i64(-1)}, {}),
    ("gather-elements", "GatherElements", {"x": rand(3, 4)}, {"axis": 1}, {"i": i64([[0, -1], [3, 1], [2, 2]])}, {}),
    ("expand-bidirectional", "Expand", {"x": rand(3, 1)}, {}, {"s": i64([2, 1, 4])}, {}),
    ("tile", "Tile", {"x": rand(2, 3)}, {}, {"r": i64([2, 1])}, {}),
    ("where", "Where", {"c": RNG.random((3, 4)) > 0.5, "a": rand(3, 4), "b": rand(1, 4)}, {}, {}, {}),
    ("pow-mixed", "Pow", {"x": np.abs(rand(3, 4)) + 0.1}, {}, {"e": np.array(2.5, np.float32)}, {}),
    ("clip-inputs", "Clip", {"x": rand(3, 4)}, {}, {"lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)},
     {}),
    ("div-int-trunc", "Div", {"a": i64([7, -7, 9]), "b": i64([2, 2, -4])}, {}, {}, {}),
    ("mod-fmod0", "Mod", {"a": i64([7, -7, 9]), "b": i64([3, 3, -4])}, {}, {}, {}),
    ("erf", "Erf", {"x": rand(4, 5)}, {}, {}, {}),
    ("leakyrelu", "LeakyRelu", {"x": rand(4, 5)}, {"alpha": 0.2}, {}, {}),
    ("hardsigmoid", "HardSigmoid", {"x": rand(4, 5) * 4}, {"alpha": 0.3, "beta": 0.4}, {}, {}),
    ("prelu", "PRelu", {"x": rand(2, 3, 4)}, {}, {"slope": rand(3, 1)}, {}),
    ("gelu-20-tanh", "Gelu", {"x": rand(4, 5)}, {"approximate": "tanh"}, {}, {"opset": 20}),
    ("cast-int", "Cast", {"x": rand(4, 5) * 10}, {"to": 7}, {}, {}),
    ("equal-not", "Not", {"x": RNG.random((3,)) > 0.5}, {}, {}, {}),
    ("pad-reflect", "Pad", {"x": rand(1, 2, 4, 5)}, {"mode": "reflect"}, {"p": i64([0, 0, 1, 2, 0, 0, 2, 1])}, {}),
    ("pad-constant-axes", "Pad", {"x": rand(3, 4)}, {}, {"p": i64([1, 2]), "v": np.array(3.0, np.float32),
     "a": i64([1])}, {"opset": 18}),
    ("resize-nearest", "Resize", {"x": rand(1, 2, 3, 4)},
     {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
     {"roi": np.zeros(0, np.float32), "sc": np.array([1, 1, 2, 2], np.float32)}, {}),
    ("resize-linear", "Resize", {"x": rand(1, 2, 3, 4)}, {"mode": "linear"},
     {"roi": np.zeros(0, np.float32), "sc": np.array([1, 1, 2, 1.5], np.float32)}, {}),
    ("topk", "TopK", {"x": rand(3, 6)}, {"axis": 1}, {"k": i64([2])}, {"outputs": 2}),
    ("trilu", "Trilu", {"x": rand(4, 4)}, {"upper": 0}, {"k": i64(1)}, {}),
    ("constant-of-shape", "ConstantOfShape", {}, {"value": __import__("onnx").numpy_helper.from_array(
        np.array([1.5], np.float32))}, {"s": i64([2, 3])}, {}),
    ("range", "Range", {}, {}, {"a": np.array(1.0, np.float32), "b": np.array(4.0, np.float32),
                                 "c": np.array(0.5, np.float32)}, {}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_matches_onnxruntime(case):
    _, op, inputs, attrs, inits, extra = case
    model = single_node_model(op, inputs, attrs, initializers=inits, outputs=extra.get("outputs", 1),
                              opset=extra.get("opset", 17))
    want = run_ort(model, inputs)
    got = run_torch(model, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype, f"{op}: dtype {g.dtype} vs ONNX Runtime's {w.dtype}"
        assert g.shape == w.shape, f"{op}: shape {g.shape} vs ONNX Runtime's {w.shape}"
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
