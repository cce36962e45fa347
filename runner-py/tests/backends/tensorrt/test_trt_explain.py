"""Explain: realized precision per ONNX node and the reason codes."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from trtpipe_runner.backends.tensorrt.explain import BuildFacts, explain_engine, layer_precision
from trtpipe_runner.backends.tensorrt.inspector import EngineInfo, LayerInfo, TensorInfo, parse_engine_information

from .helpers import annotated


def rows_by_node(model, info, **facts):
    return {r.node: r for r in explain_engine(model, info, BuildFacts(**facts)).rows}


def t(dtype, name=""):
    return TensorInfo(name, dtype)


def layer(i, name, ins, outs, nodes=(), weights=None, tactic="", layer_type=""):
    return LayerInfo(i, name, layer_type, [t(d) for d in ins], [t(d) for d in outs], list(nodes), tactic, weights)


def test_trt10_sample_digits_fp16_all_realized(trt10_sample, digits_fp16):
    result = explain_engine(digits_fp16, parse_engine_information(trt10_sample), BuildFacts())
    rows = {r.node: r for r in result.rows}
    assert not any(n.startswith("trtpipe/") for n in rows)  # inserted casts are bookkeeping
    assert len(rows) == 12
    assert {r.realized for r in rows.values()} == {"fp16"} and {r.reason for r in rows.values()} == {""}
    assert "from weights type" in rows["/features/conv1/Conv"].detail
    # Softmax was fused with the output Cast (to fp32): fp16 in, fp32 out; the Cast's direction puts
    # the Softmax on the fp16 side.
    assert "its side of the fused Cast (to fp32): boundary tensors fp16" in rows["/Softmax"].detail
    assert result.summary["inspector_form"] == "10.x" and result.summary["layers_reformat"] == 2
    assert result.summary["realized_counts"] == {"fp16": 12}


def test_trt11_sample_region_hides_its_fp32_island(trt11_sample, overflow_fp16_norm_fp32):
    result = explain_engine(overflow_fp16_norm_fp32, parse_engine_information(trt11_sample), BuildFacts())
    rows = {r.node: r for r in result.rows}
    for node in ("/fc1/Gemm", "/Mul", "/Relu", "/fc2/Gemm", "/Softmax"):
        assert (rows[node].realized, rows[node].reason) == ("fp16", ""), node
    for node in ("/norm/ReduceMean", "/norm/Pow", "/norm/Sqrt", "/norm/Add_1"):
        assert (rows[node].realized, rows[node].reason) == ("?", "TYPE_HIDDEN_BY_FUSION"), node
        assert "intended fp32" in rows[node].detail and "Myelin region" in rows[node].detail
    assert rows["/Constant"].realized == "-" and rows["/norm/Constant"].reason == "NO_FLOAT_MATH"
    assert result.summary["inspector_form"] == "11.x"


def test_fused_into_fp32_layer():
    model, _ = annotated("digits", {"default": "fp16", "io": "keep",
                                    "rules": [{"match": {"op": ["Softmax"]}, "use": "fp32"}]})
    casts = [n.name for n in model.graph.node if n.name.startswith("trtpipe/") and "fc2" in n.name]
    info = EngineInfo("10.x", [layer(0, "/head/fc2/Gemm + /Softmax", ["fp32"], ["fp32"],
                                     ["/head/fc2/Gemm", *casts, "/Softmax"], weights="fp32")], [])
    rows = rows_by_node(model, info)
    assert (rows["/head/fc2/Gemm"].realized, rows["/head/fc2/Gemm"].reason) == ("fp32", "FUSED_INTO_FP32_LAYER")
    assert rows["/head/fc2/Gemm"].detail.startswith("intended fp16")
    assert (rows["/Softmax"].realized, rows["/Softmax"].reason) == ("fp32", "")


def test_wider_than_intended_legacy_vs_strongly_typed(digits_fp16):
    info = EngineInfo("10.x", [layer(0, "/head/fc2/Gemm", ["fp32"], ["fp32"], ["/head/fc2/Gemm"], weights="fp32")],
                      [])
    assert rows_by_node(digits_fp16, info, legacy_weak_typing=True)["/head/fc2/Gemm"].reason == "BUILDER_CHOSE_FP32"
    assert rows_by_node(digits_fp16, info)["/head/fc2/Gemm"].reason == "NO_KERNEL_ON_BACKEND"


def test_lower_than_intended_in_legacy_mode(digits_fp16):
    info = EngineInfo("10.x", [layer(0, "/head/fc2/Gemm", ["fp16"], ["fp16"], ["/head/fc2/Gemm"])], [])
    rows = rows_by_node(digits_fp16, info, legacy_weak_typing=True, lock={"/head/fc2/Gemm": "fp32"})
    assert (rows["/head/fc2/Gemm"].realized, rows["/head/fc2/Gemm"].reason) == ("fp16", "BUILDER_CHOSE_LOWER")


def test_hardware_unsupported(digits_fp16):
    info = EngineInfo("10.x", [layer(0, "/head/fc2/Gemm", ["fp32"], ["fp32"], ["/head/fc2/Gemm"])], [])
    rows = rows_by_node(digits_fp16, info, legacy_weak_typing=True, lock={"/head/fc2/Gemm": "bf16"},
                        compute_capability=(7, 5))
    assert rows["/head/fc2/Gemm"].reason == "HARDWARE_UNSUPPORTED"
    rows = rows_by_node(digits_fp16, info, legacy_weak_typing=True, lock={"/head/fc2/Gemm": "bf16"},
                        compute_capability=(9, 0))
    assert rows["/head/fc2/Gemm"].reason == "BUILDER_CHOSE_FP32"


def test_tf32_tactics():
    model, _ = annotated("digits", {"default": "fp32"})
    info = EngineInfo("10.x", [layer(0, "/head/fc2/Gemm", ["fp32"], ["fp32"], ["/head/fc2/Gemm"],
                                     tactic="sm80_xmma_gemm_tf32f32_tf32f32_f32_nn_n_tilesize64x64x16")], [])
    assert (rows_by_node(model, info)["/head/fc2/Gemm"].realized,
            rows_by_node(model, info)["/head/fc2/Gemm"].reason) == ("tf32", "TF32_ALLOWED")
    assert rows_by_node(model, info, lock={"/head/fc2/Gemm": "tf32"})["/head/fc2/Gemm"].reason == ""


def test_not_in_engine_and_names_only(digits_fp16):
    info = EngineInfo("names-only", [LayerInfo(0, "/head/fc2/Gemm")], [])
    rows = rows_by_node(digits_fp16, info)
    assert (rows["/features/conv1/Conv"].realized, rows["/features/conv1/Conv"].reason) == ("?", "NOT_IN_ENGINE")
    assert (rows["/head/fc2/Gemm"].realized, rows["/head/fc2/Gemm"].reason) == ("?", "TYPE_HIDDEN_BY_FUSION")


def test_precision_mismatch_and_widest_of_several_layers(digits_fp16):
    info = EngineInfo("11.x", [layer(0, "/Softmax", ["bf16"], ["bf16"], ["/Softmax"]),
                               layer(1, "/head/fc2/Gemm", ["fp16"], ["fp16"], ["/head/fc2/Gemm"]),
                               layer(2, "/head/fc2/Gemm_2", ["fp32"], ["fp32"], ["/head/fc2/Gemm"])], [])
    rows = rows_by_node(digits_fp16, info)
    assert rows["/Softmax"].reason == "PRECISION_MISMATCH"
    assert (rows["/head/fc2/Gemm"].realized, rows["/head/fc2/Gemm"].reason) == ("fp32", "NO_KERNEL_ON_BACKEND")


def qdq_model():
    """x -> Q -> DQ -> Conv(W via DQ, bias fp32) -> Relu -> y: the explicit-quantization pattern."""
    w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.int8), "w_q")
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["x_q"], name="/q"),
        helper.make_node("DequantizeLinear", ["x_q", "s", "z"], ["x_dq"], name="/dq"),
        helper.make_node("DequantizeLinear", ["w_q", "ws"], ["w_dq"], name="/w_dq", axis=0),
        helper.make_node("Conv", ["x_dq", "w_dq", "b"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu"),
    ]
    inits = [w, numpy_helper.from_array(np.float32(0.1), "s"), numpy_helper.from_array(np.int8(0), "z"),
             numpy_helper.from_array(np.full(4, 0.05, np.float32), "ws"),
             numpy_helper.from_array(np.zeros(4, np.float32), "b")]
    graph = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def test_int8_from_qdq_graph():
    info = EngineInfo("10.x", [
        layer(0, "/q", ["fp32"], ["int8"], ["/q"]),
        layer(1, "/conv/Conv + /relu/Relu", ["int8"], ["fp32"], ["/dq", "/w_dq", "/conv/Conv", "/relu/Relu"]),
    ], [])

    rows = rows_by_node(qdq_model(), info)
    assert (rows["/q"].realized, rows["/q"].reason) == ("int8", "")
    assert (rows["/conv/Conv"].realized, rows["/conv/Conv"].reason) == ("int8", "")  # intent read from Q/DQ
    assert (rows["/dq"].realized, rows["/w_dq"].realized) == ("int8", "int8")
    # Relu intends fp32 (its input is the Conv's float output); fused into the int8 conv it runs in
    # the kernel's epilogue and leaves in the layer's fp32 output type.
    assert (rows["/relu/Relu"].realized, rows["/relu/Relu"].reason) == ("fp32", "")
    assert "epilogue of the int8 layer" in rows["/relu/Relu"].detail


def test_layer_precision_rules():
    assert layer_precision(layer(0, "a", ["int8"], ["fp16"]), ["Conv"]) == ("int8", "int8 tensors")
    assert layer_precision(layer(0, "a", ["fp32"], ["fp32"], weights="fp16"), ["Conv", "Cast"])[0] == "fp16"
    assert layer_precision(layer(0, "a", ["fp32"], ["fp32"]), ["Cast", "Add", "Cast"])[0] == "?"
    assert layer_precision(layer(0, "a", ["fp32"], ["fp32"]), ["Add"])[0] == "fp32"
    assert layer_precision(layer(0, "a", ["fp32"], ["fp16"]), ["Relu"])[0] == "?"  # no Cast says where
    assert layer_precision(layer(0, "a", ["int64"], ["int32"]), ["Shape"])[0] == "-"
    assert layer_precision(layer(0, "a", ["fp16"], ["bf16"]), ["Cast"])[0] == "?"
