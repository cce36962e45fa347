"""Q/DQ placement after NVIDIA's recommendations, and `precision.unquantized` (issue 23).

On a ResNet-style graph: which tensors get Q/DQ (weighted layers' inputs, the residual input of an
Add after a convolution, never outputs), which nodes run in the unquantized float type, where Casts
remain, and that ONNX Runtime's numerics stay close to the FP32 model.
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto as T

from trtpipe_runner.calibration.collect import calibrate
from trtpipe_runner.calibration.ranges import quantized_inputs, residual_inputs
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.model.load import load_model
from trtpipe_runner.precision.annotate import check_annotated
from trtpipe_runner.precision.apply import annotated_model
from trtpipe_runner.precision.opset import convert_opset
from trtpipe_runner.precision.policy import resolve

from ..fixtures.models import EXAMPLES, residual_cnn
from ..stage_params import policy_of

RNG = np.random.default_rng(1)
X = RNG.normal(size=(64, 3, 8, 8)).astype(np.float32)


def _amax(model, feeds):
    tensors = quantized_inputs(model) + [t for t in residual_inputs(model) if t not in quantized_inputs(model)]
    return calibrate(model, tensors, lambda: iter([feeds]), "minmax", 99.99, "cpu", CancelToken()).amax


def _int8(model, unquantized, amax, ranges=None, **policy):
    decisions = resolve(model, policy_of({"default": "int8", "unquantized": unquantized, **policy}), ranges)
    out, counts = annotated_model(model, decisions, True, amax, True, None, unquantized)
    check_annotated(out)
    return out, {d.node: d for d in decisions}, counts


def _run(model, feeds):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, feeds)[0].astype(np.float32)


def _reader(model, node_name, slot):
    """The node that writes what `node_name` reads in input `slot`."""
    node = next(n for n in model.graph.node if n.name == node_name)
    return next(n for n in model.graph.node if node.input[slot] in n.output)


def _cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def cnn():
    m = residual_cnn()
    return m, _amax(m, {"x": X})


def test_residual_inputs_are_the_skip_branches(cnn):
    m, amax = cnn
    # identity block: the Conv(+BN) output is fused into, the stem's output is the skip;
    # downsampling block: both inputs come from convolutions, input 1 (the skip) is quantized
    assert residual_inputs(m) == ["s_r", "d"]
    assert {"s_r", "d"} <= set(amax)


def test_fp32_unquantized_places_qdq_on_weighted_inputs_and_residuals(cnn):
    m, amax = cnn
    out, by, counts = _int8(m, "fp32", amax)
    assert counts["qdq_residuals"] == 2 and counts["qdq_weights"] == 7
    assert _reader(out, "/b1/Add", 1).op_type == "DequantizeLinear", "the skip input is quantized"
    assert _reader(out, "/b1/Add", 0).op_type == "BatchNormalization", "the conv branch is not"
    assert _reader(out, "/b2/Add", 1).op_type == "DequantizeLinear"
    assert _reader(out, "/b2/Add", 0).op_type == "Conv"
    # the skip tensor s_r is also /b1/conv1's input: one Q/DQ pair, shared
    assert _reader(out, "/b1/Add", 1).output[0] == _reader(out, "/b1/conv1/Conv", 0).output[0]
    # outputs are not quantized: the one Conv output behind a QuantizeLinear is the downsampling skip
    convs = {o for n in out.graph.node if n.op_type == "Conv" for o in n.output}
    assert [n.input[0] for n in out.graph.node if n.op_type == "QuantizeLinear" and n.input[0] in convs] == ["d"]
    assert (by["/b1/Add"].resolved, by["/b1/Add"].reason) == ("fp32", "NOT_QUANTIZABLE")
    assert "precision.unquantized: fp32" in by["/b1/Add"].detail
    assert counts["casts"] == 0
    assert _cosine(_run(out, {"x": X}), _run(m, {"x": X})) > 0.995


def test_fp16_unquantized_at_opset_19_needs_no_casts_between_layers(cnn):
    m, amax = cnn
    m19 = convert_opset(m, 19)
    out, by, counts = _int8(m19, "fp16", amax)
    for name in ("/stem/Relu", "/b1/Add", "/b1/bn2/BatchNormalization", "/pool/GlobalAveragePool", "/Flatten"):
        assert by[name].resolved == "fp16" and by[name].reason == "NOT_QUANTIZABLE", name
        assert "runs in fp16 (precision.unquantized)" in by[name].detail
    # every quantized layer computes in fp16 behind its DequantizeLinear: fp16 scales, no Cast between
    scales = {i.name: i.data_type for i in out.graph.initializer if i.name.endswith("/scale")}
    assert scales and set(scales.values()) == {T.FLOAT16}
    casts = [n.name for n in out.graph.node if n.op_type == "Cast"]
    assert casts == ["trtpipe/cast/x/to_fp16", "trtpipe/cast/y/to_fp32"], "only at the graph's input and output"
    assert counts["qdq_residuals"] == 2 and _reader(out, "/b1/Add", 1).op_type == "DequantizeLinear"
    assert _cosine(_run(out, {"x": X}), _run(m, {"x": X})) > 0.995


def test_fp16_unquantized_below_opset_19_computes_quantized_layers_in_fp32(cnn):
    m, amax = cnn
    out, by, counts = _int8(m, "fp16", amax)
    assert by["/b1/Add"].resolved == "fp16"
    scales = {i.data_type for i in out.graph.initializer if i.name.endswith("/scale")}
    assert scales == {T.FLOAT}, "fp16 scales need opset 19"
    assert counts["casts"] > 2 and counts["qdq_residuals"] == 0
    assert _cosine(_run(out, {"x": X}), _run(m, {"x": X})) > 0.995


def test_safety_rules_keep_overflowing_unquantized_nodes_fp32(cnn):
    m, amax = cnn
    ranges = {"b1": 1e4}  # /b1/Add's output beyond data_max
    _, by, _ = _int8(convert_opset(m, 19), "fp16", amax, ranges)
    assert (by["/b1/Add"].resolved, by["/b1/Add"].reason) == ("fp32", "RANGE_OVERFLOW")
    assert "not quantized" in by["/b1/Add"].detail
    assert by["/b1/relu/Relu"].resolved == "fp32", "it reads the overflowing tensor too"
    assert by["/b2/Add"].resolved == "fp16"


@pytest.mark.parametrize("example,inputs", [("digits", ["input"]), ("transformer", None)])
def test_examples_int8_with_fp16_unquantized(example, inputs):
    m = convert_opset(load_model(EXAMPLES / example / "model.onnx"), 19)
    with np.load(EXAMPLES / example / "calib.npz") as calib, np.load(EXAMPLES / example / "eval.npz") as ev:
        names = [i.name for i in m.graph.input]
        feeds = {n: calib[n][:128] for n in names}
        evals = {n: ev[n][:128] for n in names}
    amax = _amax(m, feeds)
    fp32_rest, _, _ = _int8(m, "fp32", amax)
    fp16_rest, by, _ = _int8(m, "fp16", amax)
    kinds = {d.resolved for d in by.values()}
    assert "fp16" in kinds and "int8" in kinds
    # no transformer residual stream is quantized (no convolution feeds its Adds)
    assert residual_inputs(m) == []
    ref = _run(m, evals)
    a, b = _cosine(_run(fp32_rest, evals), ref), _cosine(_run(fp16_rest, evals), ref)
    assert b > a - 0.002, f"fp16 leftovers cost more than rounding: cosine {b:.5f} vs {a:.5f}"


def test_replaced_float_weights_leave_the_graph(cnn):
    m, amax = cnn
    out, _, _ = _int8(m, "fp32", amax)
    inits = {i.name for i in out.graph.initializer}
    assert not inits & {"stem.w", "b1c1.w", "fc.w"}, "the fp32 weights their int8 copies replace"
    assert {"fc.b", "bn.scale"} <= inits, "biases and normalization parameters are still read"
    assert out.ByteSize() < m.ByteSize() * 0.7


@pytest.mark.parametrize("policy,opset", [
    ({"default": "int8", "unquantized": "fp16"}, 19),
    ({"default": "int8", "unquantized": "fp32"}, None),
    ({"default": "fp16", "unquantized": "fp16"}, None),
    ({"default": "fp16", "unquantized": "bf16", "rules": [{"match": {"op": ["Conv"]}, "use": "int8"}]}, 19),
    ({"default": "int8", "unquantized": "fp16", "opset": 22}, 22),
    ({"default": "int8", "unquantized": "fp16", "opset": 17}, 17),  # asked for: fp32 Q/DQ behind Casts
])
def test_working_opset_is_raised_only_for_fp16_qdq(cnn, policy, opset):
    from trtpipe_runner.contract.stages import Policy
    from trtpipe_runner.precision.opset import working_opset

    from ..stage_params import policy as full_policy

    assert working_opset(cnn[0], Policy.parse(full_policy(**policy), "policy")) == opset
