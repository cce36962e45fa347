"""The torch backend keeps the graph's dtypes: fp16/bf16 from Casts and initializers, real overflow."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

import ml_dtypes  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trtpipe_runner.backends.torch.program import Program  # noqa: E402

from .onnx_graphs import run_ort, run_torch  # noqa: E402

BF16 = ml_dtypes.bfloat16


def low_precision_graph(low: int, w: np.ndarray, b: np.ndarray, keep_low_output: bool = False):
    """x(fp32) -Cast-> low -MatMul(W low)-> -Add(b low)-> -Relu-> [-Cast-> fp32]."""
    nodes = [helper.make_node("Cast", ["x"], ["xl"], name="cast_in", to=low),
             helper.make_node("MatMul", ["xl", "w"], ["m"], name="matmul"),
             helper.make_node("Add", ["m", "b"], ["a"], name="add"),
             helper.make_node("Relu", ["a"], ["r"], name="relu")]
    out_type = low if keep_low_output else TensorProto.FLOAT
    if not keep_low_output:
        nodes.append(helper.make_node("Cast", ["r"], ["y"], name="cast_out", to=TensorProto.FLOAT))
    else:
        nodes.append(helper.make_node("Identity", ["r"], ["y"], name="out"))
    g = helper.make_graph(nodes, "low", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                          [helper.make_tensor_value_info("y", out_type, ["n", 3])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 10
    return m


def test_fp16_graph_matches_onnxruntime_and_outputs_fp16():
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((4, 3)).astype(np.float16), rng.standard_normal(3).astype(np.float16)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    model = low_precision_graph(TensorProto.FLOAT16, w, b, keep_low_output=True)
    (got,) = run_torch(model, {"x": x}, fuse=False)
    (want,) = run_ort(model, {"x": x})
    assert got.dtype == np.float16 and want.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("fuse", [False, True])
def test_bf16_graph_rounds_like_bf16_arithmetic(fuse):
    """ONNX Runtime CPU has no bf16 MatMul; the expected values are numpy's with bf16 rounding after each node."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 3)).astype(BF16)
    b = rng.standard_normal(3).astype(BF16)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    (got,) = run_torch(low_precision_graph(TensorProto.BFLOAT16, w, b), {"x": x}, fuse=fuse)
    xl = x.astype(BF16).astype(np.float32)
    m = (xl @ w.astype(np.float32)).astype(BF16).astype(np.float32)
    want = np.maximum((m + b.astype(np.float32)).astype(BF16).astype(np.float32), 0)
    assert got.dtype == np.float32
    # Unfused, every node rounds to bf16 as numpy did; fused (bias in the GEMM epilogue)
    # the MatMul result is not rounded before the Add: at most one bf16 ulp apart.
    tol = 0 if not fuse else 2 ** -7
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_initializers_and_intermediates_keep_their_dtypes():
    w = np.ones((4, 3), BF16)
    program = Program(low_precision_graph(TensorProto.BFLOAT16, w, np.zeros(3, BF16), keep_low_output=True), "cpu")
    assert program.consts["w"].dtype == torch.bfloat16
    (y,) = program.run([torch.ones(2, 4)])
    assert y.dtype == torch.bfloat16


def test_fp16_overflow_is_real():
    """Pow in fp16 overflows to inf as on a GPU (the overflow example's failure), while fp32 does not."""
    nodes = [helper.make_node("Cast", ["x"], ["h"], to=TensorProto.FLOAT16),
             helper.make_node("Pow", ["h", "two"], ["p"]),
             helper.make_node("Cast", ["p"], ["y"], to=TensorProto.FLOAT)]
    g = helper.make_graph(nodes, "pow", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
                          [numpy_helper.from_array(np.array(2.0, np.float16), "two")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 10
    (got,) = run_torch(m, {"x": np.array([10.0, 255.0, 300.0], np.float32)})
    assert got[0] == 100.0 and got[1] == 65024.0 and np.isinf(got[2])


def test_fp8_cast_saturates_like_onnx():
    nodes = [helper.make_node("Cast", ["x"], ["q"], to=TensorProto.FLOAT8E4M3FN),
             helper.make_node("Cast", ["q"], ["y"], to=TensorProto.FLOAT)]
    g = helper.make_graph(nodes, "fp8", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 10
    x = np.array([1000.0, -1000.0, 0.3, 17.0], np.float32)
    (got,) = run_torch(m, {"x": x})
    (want,) = run_ort(m, {"x": x})
    np.testing.assert_array_equal(got, want)
    assert got[0] == 448.0
