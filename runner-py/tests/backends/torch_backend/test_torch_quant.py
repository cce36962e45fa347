"""Q/DQ executed as quantize-dequantize: exact agreement with ONNX Runtime's QuantizeLinear/DequantizeLinear."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from .onnx_graphs import run_ort, run_torch  # noqa: E402


def qdq_model(scale: np.ndarray, zero_point, axis: int | None, shape, opset: int = 19, quant_only: bool = False):
    zp = [] if zero_point is None else ["zp"]
    attrs = {} if axis is None else {"axis": axis}
    nodes = [helper.make_node("QuantizeLinear", ["x", "s"] + zp, ["q"], name="q", **attrs)]
    if not quant_only:
        nodes.append(helper.make_node("DequantizeLinear", ["q", "s"] + zp, ["y"], name="dq", **attrs))
    inits = [numpy_helper.from_array(scale, "s")]
    if zero_point is not None:
        inits.append(zero_point if isinstance(zero_point, TensorProto) else numpy_helper.from_array(zero_point, "zp"))
    out_type = TensorProto.FLOAT if not quant_only else (
        zero_point.data_type if isinstance(zero_point, TensorProto) else
        helper.np_dtype_to_tensor_dtype(zero_point.dtype) if zero_point is not None else TensorProto.UINT8)
    g = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("q" if quant_only else "y", out_type, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def data(shape, spread=3.0):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32) * spread
    x.flat[:4] = [0.25, -0.25, 0.75, 1000.0]  # ties (round half to even) and saturation
    return x


@pytest.mark.parametrize("quant_only", [True, False], ids=["quantized-values", "quantize-dequantize"])
def test_int8_per_tensor(quant_only):
    m = qdq_model(np.array(0.5, np.float32), np.array(0, np.int8), None, [4, 5], quant_only=quant_only)
    x = data((4, 5))
    (got,), (want,) = run_torch(m, {"x": x}), run_ort(m, {"x": x})
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_uint8_with_zero_point():
    m = qdq_model(np.array(0.1, np.float32), np.array(128, np.uint8), None, [3, 4])
    x = data((3, 4))
    np.testing.assert_array_equal(run_torch(m, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_int8_per_axis():
    scale = np.array([0.05, 0.5, 2.0], np.float32)
    m = qdq_model(scale, np.zeros(3, np.int8), 1, [2, 3, 4])
    x = data((2, 3, 4))
    np.testing.assert_array_equal(run_torch(m, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_fp8_e4m3_per_tensor():
    zp = helper.make_tensor("zp", TensorProto.FLOAT8E4M3FN, [], [0.0])
    m = qdq_model(np.array(0.25, np.float32), zp, None, [4, 5])
    x = data((4, 5), spread=20.0)
    got, want = run_torch(m, {"x": x})[0], run_ort(m, {"x": x})[0]
    np.testing.assert_array_equal(got, want)
    assert got.flat[3] == 448.0 * 0.25  # saturated, not NaN


def test_blocked_quantization_is_refused_with_the_node_named():
    from trtpipe_runner.backends.torch.program import Program
    from trtpipe_runner.errors import UserError

    m = qdq_model(np.full((2, 1), 0.5, np.float32), np.zeros((2, 1), np.int8), 1, [2, 4], opset=21)
    for node in m.graph.node:
        node.attribute.append(helper.make_attribute("block_size", 4))
    with pytest.raises(UserError) as err:
        Program(m, "cpu")
    assert err.value.code == "UNSUPPORTED_OP" and err.value.node == "q" and "block_size" in err.value.message
