"""Q/DQ GEMMs on the real int8/fp8 kernels (torch._int_mm, torch._scaled_mm, both run on the CPU too):
pattern recognition, agreement with the emulation on the same graph, and the refusals with their reasons."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trtpipe_runner.backends.torch.explain import explain_model  # noqa: E402
from trtpipe_runner.backends.torch.fold import fold_constants  # noqa: E402
from trtpipe_runner.backends.torch.fusion_qgemm import fuse_qgemm  # noqa: E402
from trtpipe_runner.backends.torch.graph import read_graph  # noqa: E402
from trtpipe_runner.backends.torch.program import prepare  # noqa: E402

from .examples_data import cosine, example, int8_qdq  # noqa: E402
from .onnx_graphs import run_ort, run_torch  # noqa: E402

K, N = 32, 24
QTYPE = {"int8": (TensorProto.INT8, 127.0), "fp8": (TensorProto.FLOAT8E4M3FN, 448.0)}


def qgemm_model(kind: str = "int8", op: str = "MatMul", k: int = K, n: int = N, zero_point: int = 0,
                weight_axis: int | None = None):
    """x -> Q -> DQ -> MatMul|Gemm(DQ(W quantized per output channel)) [+ bias] -> y, as the transform
    stage writes it."""
    import ml_dtypes

    rng = np.random.default_rng(0)
    elem, qmax = QTYPE[kind]
    w = rng.standard_normal((k, n)).astype(np.float32)
    trans_b = op == "Gemm"
    axis = weight_axis if weight_axis is not None else (0 if trans_b else 1)
    ws = np.abs(w).max(axis=0) / qmax
    wq = w / ws if kind == "int8" else np.clip(w / ws, -qmax, qmax)
    wq = np.clip(np.rint(wq), -qmax, qmax).astype(np.int8) if kind == "int8" else wq.astype(ml_dtypes.float8_e4m3fn)
    if trans_b:
        wq = np.ascontiguousarray(wq.T)
    if weight_axis is not None and weight_axis != (0 if trans_b else 1):
        ws = np.resize(ws, wq.shape[weight_axis]).astype(np.float32)
    zp_dtype = np.int8 if kind == "int8" else ml_dtypes.float8_e4m3fn
    inits = [numpy_helper.from_array(wq, "wq"), numpy_helper.from_array(ws.astype(np.float32), "ws"),
             numpy_helper.from_array(np.zeros(ws.shape, zp_dtype), "wzp"),
             numpy_helper.from_array(np.array(3.0 / qmax, np.float32), "xs"),
             numpy_helper.from_array(np.array(zero_point, zp_dtype), "xzp"),
             numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "bias")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xzp"], ["xq"], name="x_q"),
             helper.make_node("DequantizeLinear", ["xq", "xs", "xzp"], ["xdq"], name="x_dq"),
             helper.make_node("DequantizeLinear", ["wq", "ws", "wzp"], ["w"], name="w_dq", axis=axis)]
    if op == "Gemm":
        nodes.append(helper.make_node("Gemm", ["xdq", "w", "bias"], ["y"], name="gemm", transB=1))
        shape = [6, k]
    else:
        nodes += [helper.make_node("MatMul", ["xdq", "w"], ["m"], name="gemm"),
                  helper.make_node("Add", ["m", "bias"], ["y"], name="bias_add")]
        shape = [2, 3, k]
    g = helper.make_graph(nodes, "qgemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    m.ir_version = 10
    return m, np.random.default_rng(1).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("op", ["MatMul", "Gemm"])
@pytest.mark.parametrize("kind", ["int8", "fp8"])
def test_qdq_gemms_run_on_the_quantized_kernels(kind, op):
    model, x = qgemm_model(kind, op)
    prepared = prepare(model, True, "cpu")
    (node,) = prepared.fused
    assert node.op_type == "trtpipe.QGemm" and node.attrs["kind"] == kind
    assert set(node.fused_from) == {"x_dq", "w_dq", "gemm"} | ({"bias_add"} if op == "MatMul" else set())
    assert [n.op_type for n in prepared.nodes] == ["QuantizeLinear", "trtpipe.QGemm"]
    real, = run_torch(model, {"x": x})
    emulated, = run_torch(model, {"x": x}, fuse=False)
    assert cosine(real, emulated) > 0.99999
    np.testing.assert_allclose(real, emulated, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(real, run_ort(model, {"x": x})[0], rtol=1e-4, atol=1e-4)
    rows = {r.node: r for r in explain_model(model, True, False, False, "cpu")}
    assert (rows["gemm"].realized, rows["gemm"].reason) == (kind, "")
    assert rows["w_dq"].reason == rows["x_dq"].reason == "FUSED"
    assert rows["x_q"].realized == kind  # the activation is still quantized by its own node


def test_int8_accumulation_is_exact():
    """int32 accumulation: the product of the quantized values equals float64 arithmetic on them."""
    model, x = qgemm_model("int8", "Gemm")
    real, = run_torch(model, {"x": x})
    inits = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    xq = np.clip(np.rint(x / inits["xs"]), -128, 127)
    exact = (xq @ inits["wq"].T) * (inits["xs"] * inits["ws"]) + inits["bias"]
    np.testing.assert_allclose(real, exact, rtol=1e-6, atol=1e-5)


def test_the_example_int8_graph_runs_its_gemms_on_int_mm(tmp_path):
    model, x, _, calib = example("transformer")
    q = int8_qdq(model, calib, tmp_path)
    prepared = prepare(q, True, "cpu")
    assert sum(n.op_type == "trtpipe.QGemm" for n in prepared.fused) == 10
    real, = run_torch(q, {"input": x[:32]})
    emulated, = run_torch(q, {"input": x[:32]}, fuse=False)
    assert cosine(real, emulated) > 0.99999
    rows = explain_model(q, True, False, False, "cpu")
    assert {r.node for r in rows if r.realized == "int8" and r.reason == ""} >= {"/blocks/blocks.0/mlp/mlp.0/MatMul"}
    attention = {r.node: r for r in rows}["/blocks/blocks.0/attn/MatMul"]
    # Two activations: the policy keeps attention MatMuls fp32 under int8 (NOT_QUANTIZABLE), and
    # the torch backend then runs them inside fused attention.
    assert (attention.realized, attention.reason) == ("fp32", "FUSED")


def fused_with_reasons(model, device: str, capability):
    graph = read_graph(model)
    nodes, consts, _ = fold_constants(graph)
    notes = {}
    nodes = fuse_qgemm(nodes, graph, consts, notes, device, capability)
    return [n for n in nodes if n.op_type == "trtpipe.QGemm"], {k: v.detail for k, v in notes.items()}


@pytest.mark.parametrize("case, device, capability, expected", [
    (dict(kind="int8", k=20), "cuda", (9, 0), "torch._int_mm on CUDA needs K and N multiples of 8 (K=20, N=24)"),
    (dict(kind="fp8"), "cuda", (8, 0), "compute capability 8.9 or newer (this GPU: 8.0)"),
    (dict(kind="fp8", n=40), "cuda", (9, 0), "torch._scaled_mm needs K and N multiples of 16 (K=32, N=40)"),
    (dict(kind="int8", zero_point=3), "cpu", None, "asymmetric quantization"),
    (dict(kind="int8", weight_axis=0), "cpu", None, "per input channel"),
])
def test_what_cannot_run_on_the_real_kernels_stays_emulated_and_says_why(case, device, capability, expected):
    model, x = qgemm_model(**case)
    fused, notes = fused_with_reasons(model, device, capability)
    assert not fused and expected in notes["gemm"]
    rows = {r.node: r for r in explain_model(model, True, False, device != "cpu", "cpu")} if device == "cpu" else {}
    if rows:
        assert rows["gemm"].reason == "QDQ_EMULATED" and expected in rows["gemm"].detail
    assert fused_with_reasons(qgemm_model()[0], "cuda", (9, 0))[0]  # the default shapes do fit on CUDA
