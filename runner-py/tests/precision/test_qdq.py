"""Calibration and Q/DQ insertion: TensorRT-style explicit quantization."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as T

from trtpipe_runner.backends.onnxruntime.explain import quantized_nodes
from trtpipe_runner.calibration.collect import calibrate
from trtpipe_runner.calibration.ranges import quantized_inputs
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.errors import UserError
from trtpipe_runner.model.load import load_model
from trtpipe_runner.precision.annotate import annotate, check_annotated
from trtpipe_runner.precision.opset import convert_opset
from trtpipe_runner.precision.policy import resolve
from trtpipe_runner.precision.qdq import insert_qdq

from ..fixtures.models import EXAMPLES
from ..stage_params import policy_of


@pytest.fixture(scope="module")
def digits():
    m = load_model(EXAMPLES / "digits" / "model.onnx")
    calib = np.load(EXAMPLES / "digits" / "calib.npz")["input"]
    ev = np.load(EXAMPLES / "digits" / "eval.npz")
    return m, calib, ev["input"], ev["labels"]


def _thresholds(model, calib, method, tmp_path):
    batches = lambda: ({"input": calib[i:i + 64]} for i in range(0, len(calib), 64))  # noqa: E731
    return calibrate(model, quantized_inputs(model), batches, method, 99.99, "cpu", CancelToken()).amax


def _quantize(model, policy, amax, per_channel=True):
    decisions = resolve(model, policy_of(policy))
    out, _ = annotate(model, decisions)
    counts = insert_qdq(out, decisions, amax, per_channel, out.opset_import[0].version)
    check_annotated(out)
    return out, decisions, counts


def _top1(model, x, labels):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return float((s.run(None, {"input": x})[0].argmax(-1) == labels).mean())


@pytest.mark.parametrize("method", ["minmax", "entropy", "percentile"])
def test_int8_digits_stays_within_one_point_of_fp32(digits, method, tmp_path):
    m, calib, x, labels = digits
    amax = _thresholds(m, calib, method, tmp_path)
    assert set(amax) == set(quantized_inputs(m)) and all(v > 0 for v in amax.values())
    q, decisions, counts = _quantize(m, {"default": "int8"}, amax)
    assert counts == {"qdq_activations": 4, "qdq_weights": 4, "qdq_residuals": 0}
    by = {d.node: d for d in decisions}
    assert by["/features/conv1/Conv"].resolved == "int8"
    assert by["/features/relu1/Relu"].reason == "NOT_QUANTIZABLE"
    assert abs(_top1(q, x, labels) - _top1(m, x, labels)) <= 0.01


def test_qdq_is_symmetric_zero_point_zero_and_per_channel(digits, tmp_path):
    m, calib, _, _ = digits
    q, _, _ = _quantize(m, {"default": "int8"}, _thresholds(m, calib, "minmax", tmp_path))
    inits = {i.name: i for i in q.graph.initializer}
    dqs = [n for n in q.graph.node if n.op_type == "DequantizeLinear"]
    for n in dqs:
        zp = onnx.numpy_helper.to_array(inits[n.input[2]])
        assert zp.dtype == np.int8 and not zp.any()
    conv_w = next(n for n in dqs if "features.conv1.weight" in n.name)
    axis = next(a.i for a in conv_w.attribute if a.name == "axis")
    assert axis == 0 and onnx.numpy_helper.to_array(inits[conv_w.input[1]]).shape == (16,)
    w8 = onnx.numpy_helper.to_array(inits[conv_w.input[0]])
    assert w8.dtype == np.int8 and w8.min() >= -127 and np.abs(w8).max() == 127
    assert quantized_nodes(q) == {"/features/conv1/Conv": "int8", "/features/conv2/Conv": "int8",
                                  "/head/fc1/Gemm": "int8", "/head/fc2/Gemm": "int8"}


def test_rules_keep_nodes_out_of_int8(digits, tmp_path):
    m, calib, _, _ = digits
    q, decisions, counts = _quantize(m, {"default": "int8", "rules": [{"match": {"name": ["/head/*"]}, "use": "fp32"}]},
                                     _thresholds(m, calib, "minmax", tmp_path))
    assert counts["qdq_weights"] == 2
    assert set(quantized_nodes(q)) == {"/features/conv1/Conv", "/features/conv2/Conv"}


def test_fp8_needs_opset_19_and_then_runs(digits, tmp_path):
    m, calib, x, labels = digits
    amax = _thresholds(m, calib, "minmax", tmp_path)
    with pytest.raises(UserError) as info:
        _quantize(m, {"default": "fp8"}, amax)
    assert info.value.code == "OPSET_TOO_OLD" and "precision.opset: 19" in info.value.message
    m19 = convert_opset(m, 19)
    q, _, _ = _quantize(m19, {"default": "fp8"}, amax)
    zps = [i for i in q.graph.initializer if i.name.endswith("zero_point")]
    assert zps and all(z.data_type == T.FLOAT8E4M3FN for z in zps)
    assert _top1(q, x, labels) > 0.9


def test_missing_threshold_names_the_node(digits):
    m, _, _, _ = digits
    with pytest.raises(UserError) as info:
        _quantize(m, {"default": "int8"}, {})
    assert info.value.code == "CALIBRATION_MISSING" and info.value.node == "/features/conv1/Conv"
