"""SmoothQuant factors, their Q/DQ graph, per-channel MatMul weight axes and the attention-MatMul default."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T
from onnx import helper, numpy_helper

from trtpipe_runner.calibration.collect import calibrate
from trtpipe_runner.calibration.ranges import quantized_inputs
from trtpipe_runner.calibration.smoothing import smoothing_factors, smoothing_targets
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.model.load import load_model
from trtpipe_runner.precision.annotate import annotate, check_annotated
from trtpipe_runner.precision.policy import resolve
from trtpipe_runner.precision.qdq import insert_qdq

from ..fixtures.models import EXAMPLES
from ..stage_params import policy_of

K, N = 16, 8


def _outlier_model() -> onnx.ModelProto:
    """x -> LayerNorm -> two Linear layers (and a residual Add reading the LayerNorm output).
    LayerNorm's gamma gives channel 3 a 40x range, as trained transformers do."""
    rng = np.random.default_rng(0)
    gamma = np.ones(K, np.float32)
    gamma[3] = 40.0
    inits = [numpy_helper.from_array(gamma, "gamma"), numpy_helper.from_array(np.zeros(K, np.float32), "beta"),
             numpy_helper.from_array(rng.standard_normal((K, N)).astype(np.float32) * 0.2, "w1"),
             numpy_helper.from_array(rng.standard_normal((K, N)).astype(np.float32) * 0.2, "w2"),
             numpy_helper.from_array(rng.standard_normal((N, K)).astype(np.float32) * 0.2, "w3")]
    nodes = [helper.make_node("LayerNormalization", ["x", "gamma", "beta"], ["ln"], name="ln", axis=-1),
             helper.make_node("MatMul", ["ln", "w1"], ["a"], name="fc1"),
             helper.make_node("MatMul", ["ln", "w2"], ["b"], name="fc2"),
             helper.make_node("Add", ["a", "b"], ["ab"], name="sum"),
             helper.make_node("MatMul", ["ab", "w3"], ["c"], name="fc3"),
             helper.make_node("Add", ["c", "ln"], ["y"], name="residual")]
    graph = helper.make_graph(nodes, "outliers", [helper.make_tensor_value_info("x", T.FLOAT, ["n", K])],
                              [helper.make_tensor_value_info("y", T.FLOAT, ["n", K])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _int8(model, data, alpha):
    result = calibrate(model, quantized_inputs(model), lambda: iter([{"x": data}]), "minmax", 99.99, "cpu",
                       CancelToken(), alpha)
    decisions = resolve(model, policy_of({"default": "int8"}))
    out, _ = annotate(model, decisions)
    counts = insert_qdq(out, decisions, result.amax, True, 17, result.smoothing)
    check_annotated(out)
    return out, counts, result


def _run(model, x):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def test_smoothing_factors_follow_the_smoothquant_formula():
    w = [np.array([[1.0, -4.0], [0.5, 0.25]]), np.array([[2.0, 0.0], [0.0, 1.0]])]
    s = smoothing_factors(np.array([16.0, 0.0]), w, 0.5)
    assert s[0] == pytest.approx(16.0 ** 0.5 / 4.0 ** 0.5) and s[1] == 1.0  # max|W_0| over both layers: 4


def test_smoothing_targets_are_tensors_read_only_by_weight_matmuls():
    model = _outlier_model()
    targets = smoothing_targets(model, quantized_inputs(model))
    assert sorted(targets) == ["ab", "ln"] and len(targets["ln"]) == 2


def test_smoothing_shares_one_mul_per_tensor_keeps_other_readers_and_cuts_the_error():
    model = _outlier_model()
    x = np.random.default_rng(1).standard_normal((256, K)).astype(np.float32)
    ref = _run(model, x)
    plain, _, _ = _int8(model, x, None)
    smooth, counts, result = _int8(model, x, 0.5)
    assert counts["smoothed"] == 2 and set(result.smoothing) == {"ln", "ab"}
    muls = [n for n in smooth.graph.node if n.name.startswith("trtpipe/smooth/")]
    assert [m.input[0] for m in muls] == ["ln", "ab"]
    residual = next(n for n in smooth.graph.node if n.name == "residual")
    assert residual.input[1] == "ln"  # the Add still reads the unsmoothed tensor
    s = np.asarray(result.smoothing["ln"])
    assert s[3] > 3 * np.median(s)  # the outlier channel is divided the most
    err_plain = np.abs(_run(plain, x) - ref).mean()
    err_smooth = np.abs(_run(smooth, x) - ref).mean()
    assert err_smooth < 0.7 * err_plain, (err_smooth, err_plain)


def test_smoothed_weights_times_inverse_factors_are_the_original_layer():
    model = _outlier_model()
    x = np.random.default_rng(2).standard_normal((64, K)).astype(np.float32)
    smooth, _, result = _int8(model, x, 0.8)
    inits = {i.name: numpy_helper.to_array(i) for i in smooth.graph.initializer}
    dq = next(n for n in smooth.graph.node if n.op_type == "DequantizeLinear" and "w1" in n.input[0])
    w = inits[dq.input[0]].astype(np.float32) * inits[dq.input[1]][None, :]
    w1 = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "w1"))
    restored = w / np.asarray(result.smoothing["ln"], np.float32)[:, None]
    assert np.abs(restored - w1).max() <= 0.5 * np.abs(w1).max() / 127 * 40  # within int8 rounding of the scaled rows


def test_matmul_weights_are_per_output_channel_on_either_side():
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.standard_normal((4, K)).astype(np.float32), "left"),
             numpy_helper.from_array(rng.standard_normal((K, N)).astype(np.float32), "right")]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="xt", perm=[1, 0]),
             helper.make_node("MatMul", ["left", "xt"], ["lx"], name="left_mm"),  # [4, K] @ [K, n]
             helper.make_node("MatMul", ["x", "right"], ["y"], name="right_mm")]  # [n, K] @ [K, N]
    graph = helper.make_graph(nodes, "sides", [helper.make_tensor_value_info("x", T.FLOAT, ["n", K])],
                              [helper.make_tensor_value_info("lx", T.FLOAT, [4, "n"]),
                               helper.make_tensor_value_info("y", T.FLOAT, ["n", N])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    decisions = resolve(model, policy_of({"default": "int8"}))
    out, _ = annotate(model, decisions)
    insert_qdq(out, decisions, {"x": 3.0, "xt": 3.0}, True, 17)
    check_annotated(out)
    axes = {n.input[0].split("/")[2]: next(a.i for a in n.attribute if a.name == "axis")
            for n in out.graph.node if n.op_type == "DequantizeLinear" and n.attribute}
    assert axes == {"left": 0, "right": 1}  # M of a left weight [M, K], N of a right one [K, N]: never K


def test_attention_matmuls_stay_fp32_under_an_int8_default_and_a_rule_quantizes_them():
    model = load_model(EXAMPLES / "transformer" / "model.onnx")
    by = {d.node: d for d in resolve(model, policy_of({"default": "int8"}))}
    scores = by["/blocks/blocks.0/attn/MatMul"]
    assert (scores.resolved, scores.reason) == ("fp32", "NOT_QUANTIZABLE") and "two activations" in scores.detail
    assert by["/blocks/blocks.0/attn/qkv/MatMul"].resolved == "int8"
    pinned = resolve(model, policy_of({"default": "int8", "rules": [
        {"match": {"name": ["/blocks/blocks.0/attn/MatMul"]}, "use": "int8"}]}))
    assert next(d for d in pinned if d.node == "/blocks/blocks.0/attn/MatMul").resolved == "int8"


@pytest.mark.parametrize("alpha", [None, 0.8])
def test_int8_layers_under_an_fp16_default_read_thresholds_through_annotates_casts(alpha):
    # default fp16 + an int8 rule: each MatMul reads a Cast of an fp16 tensor back to fp32,
    # whose threshold (and smoothing factors) are the FP32 model's tensor's.
    model = load_model(EXAMPLES / "transformer" / "model.onnx")
    x = np.load(EXAMPLES / "transformer" / "calib.npz")["input"][:64]
    result = calibrate(model, quantized_inputs(model), lambda: iter([{"input": x}]), "minmax", 99.99, "cpu",
                       CancelToken(), alpha)
    decisions = resolve(model, policy_of({"default": "fp16", "rules": [
        {"match": {"name_regex": ["(qkv|proj|mlp).*MatMul$"]}, "use": "int8"}]}))
    out, _ = annotate(model, decisions)
    counts = insert_qdq(out, decisions, result.amax, True, 17, result.smoothing)
    check_annotated(out)
    assert counts["qdq_weights"] == 8 and counts.get("smoothed", 0) == (8 if alpha else 0)
    quantized = [n.input[0] for n in out.graph.node if n.op_type == "QuantizeLinear"]
    assert any(t.endswith("__fp32" + ("__smoothed" if alpha else "")) for t in quantized)
