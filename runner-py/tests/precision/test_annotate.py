"""The cast-insertion pass on small graphs and on the examples."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto as T

from trtpipe_runner.model.load import load_model, name_nodes
from trtpipe_runner.model.tensors import tensor_types
from trtpipe_runner.precision.annotate import annotate, check_annotated
from trtpipe_runner.precision.emulate import emulate_low_precision
from trtpipe_runner.precision.opset import convert_opset
from trtpipe_runner.precision.policy import resolve

from ..fixtures import models
from ..fixtures.models import EXAMPLES
from ..stage_params import policy_of


def _run(m, x):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def _annotated(m, policy):
    name_nodes(m)
    decisions = resolve(m, policy_of(policy))
    out, counts = annotate(m, decisions)
    check_annotated(out)
    return out, counts, decisions


def test_fp16_mlp_keeps_io_fp32_and_types_everything_else_fp16():
    out, counts, _ = _annotated(models.mlp(), {"default": "fp16"})
    types = tensor_types(out)
    assert out.graph.input[0].type.tensor_type.elem_type == T.FLOAT
    assert out.graph.output[0].type.tensor_type.elem_type == T.FLOAT
    assert types["h"] == T.FLOAT16 and types["r"] == T.FLOAT16
    assert {i.data_type for i in out.graph.initializer} == {T.FLOAT16}
    assert counts == {"casts": 2, "initializers_converted": 3, "initializer_copies": 0}
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(out, x), _run(models.mlp(), x), atol=2e-3)


def test_a_rule_keeps_its_nodes_fp32_with_casts_at_the_boundary():
    out, counts, decisions = _annotated(models.mlp(), {"default": "fp16", "rules": [
        {"match": {"name": ["head/*"]}, "use": "fp32", "why": "keep the head exact"}]})
    by = {d.node: d for d in decisions}
    assert by["head/fc2"].resolved == "fp32" and by["head/fc2"].reason == "POLICY_RULE" and by["head/fc2"].rule == 0
    assert by["fc1"].resolved == "fp16" and by["fc1"].reason == "POLICY_DEFAULT"
    types = tensor_types(out)
    assert types["r"] == T.FLOAT16 and types["logits"] == T.FLOAT
    # input -> fp16 for fc1, and r (fp16) -> fp32 for the head: two casts, no output cast
    assert counts["casts"] == 2


def test_last_matching_rule_wins():
    _, _, decisions = _annotated(models.mlp(), {"default": "fp32", "rules": [
        {"match": {"op": ["Gemm"]}, "use": "fp16"},
        {"match": {"name": ["head/*"]}, "use": "fp32"}]})
    by = {d.node: d for d in decisions}
    assert by["fc1"].resolved == "fp16" and by["fc1"].rule == 0
    assert by["head/fc2"].resolved == "fp32" and by["head/fc2"].rule == 1


def test_an_initializer_shared_by_fp16_and_fp32_nodes_gets_a_copy():
    out, counts, _ = _annotated(models.shared_initializer(), {"default": "fp16", "rules": [
        {"match": {"name": ["add_b"]}, "use": "fp32"}]})
    names = {i.name: i.data_type for i in out.graph.initializer}
    assert names == {"w": T.FLOAT, "w__fp16": T.FLOAT16}
    assert counts["initializer_copies"] == 1
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(_run(out, x), _run(models.shared_initializer(), x), atol=1e-3)


def test_explicit_casts_and_shape_ops_keep_their_types():
    out, _, decisions = _annotated(models.explicit_cast_and_shape(), {"default": "fp16"})
    by = {d.node: d for d in decisions}
    assert by["shape"].reason == "NO_FLOAT_MATH" and by["shape"].resolved == "-"
    assert by["cast_shape"].reason == "EXPLICIT_TYPE" and by["cast_shape"].resolved == "fp32"
    types = tensor_types(out)
    assert types["sf"] == T.FLOAT  # the explicit Cast still says FLOAT
    # Shape reads the fp16 tensor directly: no Cast was put in front of it.
    shape_node = next(n for n in out.graph.node if n.name == "shape")
    assert types[shape_node.input[0]] == T.FLOAT16


def test_init_overflow_keeps_the_node_fp32_unless_a_rule_pins_it():
    _, _, decisions = _annotated(models.big_initializer(), {"default": "fp16"})
    mul = next(d for d in decisions if d.node == "mul_big")
    assert mul.resolved == "fp32" and mul.reason == "INIT_OVERFLOW" and "1e+06" in mul.detail
    _, _, pinned = _annotated(models.big_initializer(), {"default": "fp16", "rules": [
        {"match": {"name": ["mul_big"]}, "use": "fp16", "why": "I know"}]})
    assert next(d for d in pinned if d.node == "mul_big").resolved == "fp16"


def test_data_max_keeps_nodes_whose_reference_activations_are_large():
    m = models.mlp()
    name_nodes(m)
    decisions = resolve(m, policy_of({"default": "fp16", "safety": {"data_max": 100}}),
                        ranges={"h": 1000.0, "r": 1000.0, "logits": 5.0, "y": 1.0, "x": 1.0})
    by = {d.node: d for d in decisions}
    assert by["fc1"].reason == "RANGE_OVERFLOW" and by["relu"].reason == "RANGE_OVERFLOW"
    assert by["head/softmax"].resolved == "fp16"


@pytest.mark.parametrize("rule,message", [
    ({"match": {"op": ["Softmx"]}, "use": "fp32"}, "did you mean 'Softmax'"),
    ({"match": {"name": ["head/fc3"]}, "use": "fp32"}, "closest: 'head/fc2'"),
])
def test_a_rule_that_matches_nothing_is_an_error_with_a_suggestion(rule, message):
    from trtpipe_runner.errors import UserError

    m = models.mlp()
    with pytest.raises(UserError) as info:
        resolve(m, policy_of({"default": "fp16", "rules": [rule]}))
    assert info.value.code == "RULE_MATCHES_NOTHING" and message in info.value.message


def test_unnamed_nodes_get_stable_names():
    m = models.unnamed_nodes()
    assert name_nodes(m) == 2
    assert [n.name for n in m.graph.node] == ["Relu_0", "Neg_1"]


@pytest.mark.parametrize("example", ["digits", "transformer", "overflow"])
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_examples_annotate_to_valid_graphs_that_run(example, precision):
    m = load_model(EXAMPLES / example / "model.onnx")
    if precision == "bf16":
        m = convert_opset(m, 22)  # bf16 Conv/MaxPool need opset 22
    out, _, _ = _annotated(m, {"default": precision})
    x = np.load(EXAMPLES / example / "eval.npz")["input"][:16]
    emulated, points = emulate_low_precision(out)
    check_annotated(emulated)
    assert points > 0
    y = _run(emulated, x)
    assert y.shape == (16, 10)


def test_emulation_shows_the_fp16_overflow_that_ort_cpu_hides():
    m = load_model(EXAMPLES / "overflow" / "model.onnx")
    d = np.load(EXAMPLES / "overflow" / "eval.npz")
    x, labels = d["input"], d["labels"]
    out, _, _ = _annotated(m, {"default": "fp16", "safety": {"init_max": None}})
    native = _run(out, x)  # ONNX Runtime CPU computes this "fp16" graph in fp32
    emulated = _run(emulate_low_precision(out)[0], x)
    assert (native.argmax(-1) == labels).mean() > 0.95
    assert (emulated.argmax(-1) == labels).mean() < 0.5


def test_bf16_below_opset_22_is_an_explicit_error_naming_the_nodes():
    from trtpipe_runner.errors import UserError

    m = load_model(EXAMPLES / "digits" / "model.onnx")
    with pytest.raises(UserError) as info:
        resolve(m, policy_of({"default": "bf16"}))
    e = info.value
    assert e.code == "OPSET_TOO_OLD" and e.node == "/features/conv1/Conv"
    assert "'/features/conv1/Conv' (Conv, needs opset 22)" in e.message and "precision.opset: 22" in e.message
    # A rule keeping them in fp32 is the other way out.
    decisions = resolve(m, policy_of({"default": "bf16", "rules": [
        {"match": {"op": ["Conv", "MaxPool"]}, "use": "fp32"}]}))
    assert {d.resolved for d in decisions if d.op in ("Conv", "MaxPool")} == {"fp32"}


def test_reduction_depth_keeps_long_reductions_fp32():
    m = load_model(EXAMPLES / "digits" / "model.onnx")
    decisions = resolve(m, policy_of({"default": "fp16", "safety": {"reduction_depth": 256}}))
    by = {d.node: d for d in decisions}
    # fc1 sums 512 products (32*4*4), conv2 144 (16*3*3), fc2 64
    assert by["/head/fc1/Gemm"].reason == "REDUCTION_DEPTH" and "512" in by["/head/fc1/Gemm"].detail
    assert by["/features/conv2/Conv"].resolved == "fp16"
    assert by["/head/fc2/Gemm"].resolved == "fp16"
