"""The torch backend against ONNX Runtime on the ops and forms issue 21 fixed or added: ties, empty
reductions, run-time weights and pad values, the Resize sampling rules (F.interpolate's fast path
and the general one), indexed reads and writes, layout ops; and the build-time type refusals.

Where ONNX Runtime and ONNX's reference disagree (Resize align_corners with a fractional output
length, LRN with an even size, which ORT rejects) the conformance test holds the backend to the
reference instead (test_torch_conformance.py)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from trtpipe_runner.backends.torch.program import Program, prepare  # noqa: E402
from trtpipe_runner.errors import UserError  # noqa: E402

from .onnx_graphs import run_ort, run_torch, single_node_model  # noqa: E402

RNG = np.random.default_rng(21)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def i64(values):
    return np.array(values, dtype=np.int64)


def f32(values):
    return np.array(values, dtype=np.float32)


NO_ROI = np.zeros(0, np.float32)


def resize(name, x, attrs, scales=None, sizes=None, opset=19):
    inits = {"roi": NO_ROI, "sc": f32(scales) if scales is not None else np.zeros(0, np.float32)}
    if sizes is not None:
        inits["sz"] = i64(sizes)
    return (name, "Resize", {"x": x}, attrs, inits, {"opset": opset})


# (case id, op, graph inputs, attributes, initializers, extra)
CASES = [
    ("topk-ties-lower-index-first", "TopK", {"x": f32([[1, 3, 3, 2, 3, 1]])}, {"axis": 1}, {"k": i64([3])},
     {"outputs": 2}),
    ("topk-smallest-ties", "TopK", {"x": f32([[2, 1, 1, 2, 1]])}, {"largest": 0}, {"k": i64([2])}, {"outputs": 2}),
    ("lpnorm-zero-row", "LpNormalization", {"x": f32([[0, 0, 0], [3, 4, 0]])}, {"axis": 1, "p": 2}, {}, {}),
    ("clip-no-bounds", "Clip", {"x": rand(3, 4)}, {}, {}, {}),
    ("reducemax-empty-axis", "ReduceMax", {"x": np.zeros((2, 0, 3), np.float32)}, {"keepdims": 1},
     {"a": i64([1])}, {"opset": 18}),
    ("reducemin-empty-int", "ReduceMin", {"x": np.zeros((0, 3), np.int32)}, {"keepdims": 0}, {"a": i64([0])},
     {"opset": 18}),
    ("conv-runtime-weight", "Conv", {"x": rand(1, 2, 7, 7), "w": rand(3, 2, 3, 3)}, {"pads": [1, 0, 1, 2]}, {}, {}),
    ("convtranspose-output-shape", "ConvTranspose", {"x": rand(1, 2, 3, 3)},
     {"strides": [3, 2], "output_shape": [10, 8]}, {"w": rand(2, 3, 3, 3), "b": rand(3)}, {}),
    ("convtranspose-same-lower", "ConvTranspose", {"x": rand(1, 2, 4, 4)}, {"strides": [2, 2], "auto_pad": "SAME_LOWER"},
     {"w": rand(2, 3, 3, 3)}, {}),
    ("pad-runtime-value", "Pad", {"x": rand(2, 3, 4), "v": f32([2.5])}, {},
     {"p": i64([1, 0, 2, 1]), "a": i64([-1, 0])}, {"opset": 18, "order": ["x", "p", "v", "a"]}),
    ("pad-constant-middle-axis", "Pad", {"x": rand(2, 3, 4)}, {}, {"p": i64([0, 2]), "a": i64([1])},
     {"opset": 18, "order": ["x", "p", "", "a"]}),
    resize("resize-linear-align-corners-up", rand(1, 2, 3, 4), {"mode": "linear",
           "coordinate_transformation_mode": "align_corners"}, sizes=[1, 2, 5, 9]),
    resize("resize-linear-pytorch-half-pixel-len1", rand(1, 1, 4, 4), {"mode": "linear",
           "coordinate_transformation_mode": "pytorch_half_pixel"}, sizes=[1, 1, 3, 1]),
    resize("resize-linear-half-pixel-fast", rand(2, 3, 5, 6), {"mode": "linear"}, scales=[1, 1, 1.7, 0.5]),
    resize("resize-trilinear", rand(1, 2, 3, 4, 5), {"mode": "linear"}, sizes=[1, 2, 5, 2, 7]),
    resize("resize-cubic-exclude-outside", rand(1, 1, 5, 5), {"mode": "cubic", "cubic_coeff_a": -0.5,
           "exclude_outside": 1}, scales=[1, 1, 1.6, 0.8]),
    resize("resize-cubic-asymmetric", rand(1, 1, 4, 4), {"mode": "cubic",
           "coordinate_transformation_mode": "asymmetric"}, sizes=[1, 1, 7, 3]),
    resize("resize-nearest-half-pixel-round", rand(1, 2, 4, 5), {"mode": "nearest"}, sizes=[1, 2, 7, 3]),
    resize("resize-nearest-ceil", rand(1, 1, 4, 4), {"mode": "nearest", "nearest_mode": "ceil",
           "coordinate_transformation_mode": "tf_half_pixel_for_nn"}, scales=[1, 1, 1.5, 2], opset=11),
    resize("resize-nearest-int8", (rand(1, 2, 3, 3) * 50).astype(np.int8), {"mode": "nearest"},
           scales=[1, 1, 2, 3]),
    resize("resize-linear-antialias-down", rand(1, 1, 9, 8), {"mode": "linear", "antialias": 1},
           scales=[1, 1, 0.4, 0.6]),
    resize("resize-linear-channel-axis", rand(1, 4, 3, 3), {"mode": "linear"}, scales=[1, 0.5, 1, 1]),
    ("gathernd-batch-dims", "GatherND", {"x": rand(2, 3, 4)}, {"batch_dims": 1}, {"i": i64([[[2], [-1]], [[0], [1]]])},
     {}),
    ("gathernd-pairs", "GatherND", {"x": rand(3, 4, 2)}, {}, {"i": i64([[0, 1], [2, -1]])}, {}),
    ("scatternd-add", "ScatterND", {"x": rand(4, 3), "u": rand(3, 3)}, {"reduction": "add"},
     {"i": i64([[1], [3], [1]])}, {"opset": 18, "order": ["x", "i", "u"]}),
    ("scatternd-max", "ScatterND", {"x": rand(4, 3), "u": rand(2, 3)}, {"reduction": "max"}, {"i": i64([[0], [-1]])},
     {"opset": 18, "order": ["x", "i", "u"]}),
    ("scatterelements-mul", "ScatterElements", {"x": rand(3, 4), "u": rand(3, 2)}, {"axis": 1, "reduction": "mul"},
     {"i": i64([[0, -1], [1, 1], [3, 2]])}, {"opset": 18, "order": ["x", "i", "u"]}),
    ("onehot-axis0-negative", "OneHot", {"i": i64([[1, -1], [5, 0]])}, {"axis": 0},
     {"d": i64(4), "v": f32([0.5, 2.0])}, {}),
    ("depth-to-space-dcr", "DepthToSpace", {"x": rand(1, 8, 2, 3)}, {"blocksize": 2}, {}, {}),
    ("depth-to-space-crd", "DepthToSpace", {"x": rand(2, 8, 2, 3)}, {"blocksize": 2, "mode": "CRD"}, {}, {}),
    ("space-to-depth", "SpaceToDepth", {"x": rand(1, 2, 4, 6)}, {"blocksize": 2}, {}, {}),
    ("lrn", "LRN", {"x": rand(1, 5, 3, 3)}, {"size": 3, "alpha": 0.1, "beta": 0.6, "bias": 2.0}, {}, {}),
    ("layernorm-with-stats", "LayerNormalization", {"x": rand(2, 3, 4)}, {"axis": 1}, {"s": rand(3, 4), "b": rand(4)},
     {"outputs": 3}),
    ("cumsum-exclusive", "CumSum", {"x": rand(3, 4)}, {"exclusive": 1}, {"a": i64(0)}, {}),
    ("shrink", "Shrink", {"x": rand(3, 5)}, {"lambd": 0.4, "bias": 0.1}, {}, {}),
    ("bitshift-uint8", "BitShift", {"x": np.array([1, 7, 200], np.uint8), "y": np.array([1, 2, 3], np.uint8)},
     {"direction": "RIGHT"}, {}, {}),
    # integer MaxPool computes in float32 (CUDA has no integer max-pool kernel): exact, -inf pads
    ("maxpool-uint8-asymmetric-pads", "MaxPool", {"x": RNG.integers(0, 256, (1, 2, 5, 6), dtype=np.uint8)},
     {"kernel_shape": [3, 3], "pads": [1, 0, 2, 1], "strides": [2, 1]}, {}, {}),
    ("maxpool-int8", "MaxPool", {"x": RNG.integers(-128, 128, (2, 3, 4, 5), dtype=np.int8)},
     {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1]}, {}, {}),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_op_matches_onnxruntime(case):
    _, op, inputs, attrs, inits, extra = case
    model = single_node_model(op, inputs, attrs, initializers=inits, outputs=extra.get("outputs", 1),
                              opset=extra.get("opset", 17), input_order=extra.get("order"))
    want = run_ort(model, inputs)
    got = run_torch(model, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{op}: {g.dtype}{g.shape} vs ORT's {w.dtype}{w.shape}"
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def _refusal(model) -> UserError:
    with pytest.raises(UserError) as err:
        Program(model, "cpu")
    return err.value


def test_wide_unsigned_arithmetic_is_refused_when_built_naming_node_op_and_type():
    a = np.array([1, 2], np.uint32)
    err = _refusal(single_node_model("Add", {"a": a, "b": a}))
    assert err.code == "UNSUPPORTED_TYPE" and err.node == "add_node"
    assert "'add_node' (Add)" in err.message and "UINT32" in err.message


@pytest.mark.parametrize("op, dtype", [("Mul", np.uint16), ("Mul", np.uint64), ("BitwiseAnd", np.uint32),
                                       ("BitwiseXor", np.uint64)])
def test_wide_unsigned_ops_with_cpu_kernels_only_are_refused_when_built_for_cuda(op, dtype):
    """torch has CPU kernels for these and no CUDA ones ("mul_cuda not implemented for 'UInt16'"):
    they run on the CPU and are refused at build time for CUDA, without needing a GPU to say so."""
    a = np.array([3, 5, 7], dtype)
    model = single_node_model(op, {"a": a, "b": a}, opset=18)
    want = {"Mul": a * a, "BitwiseAnd": a & a, "BitwiseXor": a ^ a}[op]
    np.testing.assert_array_equal(run_torch(model, {"a": a, "b": a})[0], want)
    for device in ("cuda", "cuda:1"):
        with pytest.raises(UserError) as err:
            prepare(model, True, device)
        name = np.dtype(dtype).name.upper()
        assert err.value.code == "UNSUPPORTED_TYPE" and err.value.node == f"{op.lower()}_node"
        assert f"'{op.lower()}_node' ({op})" in err.value.message and name in err.value.message
        assert f"no {op} kernel for it on {device}" in err.value.message


def test_wide_unsigned_ops_with_cuda_kernels_still_build_for_cuda():
    a = np.array([3, 5, 7], np.uint64)
    prepare(single_node_model("Equal", {"a": a, "b": a}), True, "cuda")
    prepare(single_node_model("Cast", {"a": a}, {"to": onnx.TensorProto.FLOAT}), True, "cuda")


def test_string_tensors_are_refused_when_built():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.STRING, [2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.STRING, [2])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"], name="id")], "g", [x], [y])
    err = _refusal(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]))
    assert err.code == "UNSUPPORTED_TYPE" and "'id' (Identity)" in err.message and "STRING" in err.message


def test_training_dropout_is_refused_when_built_and_inference_dropout_runs():
    x = rand(3, 4)
    training = single_node_model("Dropout", {"x": x, "t": np.array(True)}, initializers={"r": f32(0.5)},
                                 input_order=["x", "r", "t"], opset=13)
    assert "training" in _refusal(training).message
    inference = single_node_model("Dropout", {"x": x}, initializers={"r": f32(0.5), "t": np.array(False)},
                                  input_order=["x", "r", "t"], opset=13)
    np.testing.assert_array_equal(run_torch(inference, {"x": x})[0], x)
