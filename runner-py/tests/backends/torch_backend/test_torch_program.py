"""Plans: specialization to input shapes, data-dependent shapes, fusions, unsupported ops."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from trtpipe_runner.backends.torch.program import Program  # noqa: E402
from trtpipe_runner.errors import UserError  # noqa: E402

from .onnx_graphs import run_ort, run_torch  # noqa: E402


def model_of(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def dynamic_reshape_model():
    """x[n, 6] -> reshape to [n, 2, 3] with the target computed from Shape(x), as exporters write it."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
             helper.make_node("Concat", ["n1", "tail"], ["target"], name="concat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["r"], name="reshape"),
             helper.make_node("Cast", ["n"], ["nf"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("Div", ["r", "nf"], ["y"], name="div")]
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2, 3])],
                    [i64("zero", 0), i64("axes0", [0]), i64("tail", [2, 3])])


def test_shape_arithmetic_is_baked_into_a_plan_per_input_shape():
    model = dynamic_reshape_model()
    program = Program(model, "cpu")
    assert program.specializable
    assert {"s", "n", "n1", "target", "nf"} <= program.host
    for n in (2, 5, 2):
        x = np.random.default_rng(n).standard_normal((n, 6)).astype(np.float32)
        (got,) = program.run([torch.from_numpy(x)])
        np.testing.assert_allclose(got.numpy(), run_ort(model, {"x": x})[0], rtol=1e-6)
    assert len(program._plans) == 2
    plan = program.plan_for([torch.zeros(5, 6)])
    assert [s.node.op_type for s in plan.steps] == ["Reshape", "Div"]
    assert [s.node.op_type for s in program.generic.steps].count("Shape") == 1


def test_data_dependent_shapes_keep_the_generic_plan():
    nodes = [helper.make_node("Greater", ["x", "zero"], ["pos"], name="greater"),
             helper.make_node("NonZero", ["pos"], ["idx"], name="nonzero"),
             helper.make_node("Shape", ["idx"], ["s"], name="shape"),
             helper.make_node("Cast", ["s"], ["y"], name="cast", to=TensorProto.FLOAT)]
    model = model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
                     [numpy_helper.from_array(np.array(0.0, np.float32), "zero")])
    program = Program(model, "cpu")
    assert not program.specializable
    for x in (np.array([1, -1, 2, -2, 3, -3], np.float32), np.array([1, 1, 1, 1, 1, -1], np.float32)):
        np.testing.assert_array_equal(program.run([torch.from_numpy(x)])[0].numpy(), run_ort(model, {"x": x})[0])
    assert not program._plans


def gelu_model(variant: str):
    """Exact GELU as torch.onnx (x*(1+erf)*0.5) or other exporters ((0.5*x)*(1+erf)) write it."""
    c = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
         (("sqrt2", math.sqrt(2)), ("one", 1.0), ("half", 0.5))]
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"], name="div"),
             helper.make_node("Erf", ["d"], ["e"], name="erf"),
             helper.make_node("Add", ["e", "one"], ["a"], name="add")]
    if variant == "torch":
        nodes += [helper.make_node("Mul", ["x", "a"], ["m"], name="mul"),
                  helper.make_node("Mul", ["m", "half"], ["y"], name="mul_half")]
    else:
        nodes += [helper.make_node("Mul", ["x", "half"], ["h"], name="mul_half"),
                  helper.make_node("Mul", ["h", "a"], ["y"], name="mul")]
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])], c)


@pytest.mark.parametrize("variant", ["torch", "half-first"])
def test_gelu_pattern_is_fused_and_exact(variant):
    model = gelu_model(variant)
    program = Program(model, "cpu")
    assert [n.op_type for n in program.nodes] == ["Gelu"]
    assert sorted(program.fused[0].fused_from) == ["add", "div", "erf", "mul", "mul_half"]
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(run_torch(model, {"x": x})[0], run_ort(model, {"x": x})[0], rtol=1e-6, atol=1e-7)
    assert [n.op_type for n in Program(model, "cpu", fuse_patterns=False).nodes] == ["Div", "Erf", "Add", "Mul",
                                                                                      "Mul"]


def test_matmul_bias_becomes_one_linear_unless_the_product_is_used_elsewhere():
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.arange(3, dtype=np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["y"], name="bias")]
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 4])
    y_info = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, 3])
    model = model_of(nodes, [x_info], [y_info], [w, b])
    assert [n.op_type for n in Program(model, "cpu").nodes] == ["trtpipe.Linear"]
    x = np.random.default_rng(1).standard_normal((2, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(run_torch(model, {"x": x})[0], run_ort(model, {"x": x})[0], rtol=1e-5, atol=1e-6)
    shared = model_of(nodes, [x_info], [y_info, helper.make_tensor_value_info("m", TensorProto.FLOAT, [2, 5, 3])],
                      [w, b])
    assert [n.op_type for n in Program(shared, "cpu").nodes] == ["MatMul", "Add"]


def test_unsupported_ops_fail_at_load_naming_node_and_op():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="ok"),
             helper.make_node("Det", ["r"], ["d"], name="my_det"),
             helper.make_node("FusedGemm", ["r", "r"], ["y"], name="ms_node", domain="com.microsoft")]
    model = model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 2])])
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    with pytest.raises(UserError) as err:
        Program(model, "cpu")
    e = err.value
    assert e.code == "UNSUPPORTED_OP" and e.node == "my_det"
    assert "op Det (node 'my_det')" in e.message and "com.microsoft::FusedGemm" in e.message


def test_attribute_values_it_cannot_run_name_the_node():
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "indices"], name="pool_with_indices", kernel_shape=[2, 2])]
    model = model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])], [])
    with pytest.raises(UserError) as err:
        Program(model, "cpu")
    assert err.value.code == "UNSUPPORTED_OP" and err.value.node == "pool_with_indices"
    assert "Indices" in err.value.message


def test_constant_subgraphs_are_folded_once():
    w = numpy_helper.from_array(np.ones((3, 2), np.float32), "w")
    nodes = [helper.make_node("Transpose", ["w"], ["wt"], name="wt"),
             helper.make_node("Cast", ["wt"], ["wh"], name="to_fp16", to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["x"], ["xh"], name="x_fp16", to=TensorProto.FLOAT16),
             helper.make_node("MatMul", ["xh", "wh"], ["y"], name="mm")]
    model = model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 3])], [w])
    program = Program(model, "cpu")
    assert program.folded == ["wt", "to_fp16"]
    assert program.consts["wh"].dtype == torch.float16 and tuple(program.consts["wh"].shape) == (2, 3)
    assert [s.node.name for s in program.generic.steps] == ["x_fp16", "mm"]


def tensors_from_values_model():
    """Range and ConstantOfShape twice each: over a shape (host work, on the CPU) and over data (`k`, a
    model input: device work), as the Hann-window expansion, where the CUDA run found Range's output
    on the CPU among device tensors."""
    one_f = helper.make_tensor("v", TensorProto.FLOAT, [1], [2.5])
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Range", ["zero", "n", "one"], ["rh"], name="range_host"),
             helper.make_node("Cast", ["rh"], ["rhf"], name="cast_host", to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "rhf"], ["y"], name="add"),
             helper.make_node("Range", ["zero", "k", "one"], ["rd"], name="range_device"),
             helper.make_node("Cast", ["rd"], ["rdf"], name="cast_device", to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["k", "axes0"], ["k1"], name="unsqueeze"),
             helper.make_node("ConstantOfShape", ["k1"], ["c"], name="fill_device", value=one_f),
             helper.make_node("Mul", ["rdf", "c"], ["z"], name="mul")]
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"]),
                            helper.make_tensor_value_info("k", TensorProto.INT64, [])],
                    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"]),
                     helper.make_tensor_value_info("z", TensorProto.FLOAT, ["k"])],
                    [i64("zero", 0), i64("one", 1), i64("axes0", [0])])


def test_tensors_made_from_values_are_made_on_the_device_their_readers_expect():
    """Built for another device ("meta" stands in for CUDA here), a node that makes a tensor from
    values makes it on that device when its output is device data, on the CPU when it is host work."""
    program = Program(tensors_from_values_model(), "meta")
    steps = {s.node.name: s for s in program.generic.steps}
    three, zero, one = torch.tensor(3), torch.tensor(0), torch.tensor(1)
    assert steps["shape"].fn(torch.empty(3, device="meta")).device.type == "cpu"
    assert steps["range_host"].fn(zero, three, one).device.type == "cpu"
    assert steps["range_device"].fn(zero, three, one).device.type == "meta"
    assert steps["fill_device"].fn(torch.tensor([3])).device.type == "meta"


def test_a_cpu_run_makes_no_tensor_without_naming_its_device():
    """On the CPU, tensors made without a device become meta tensors (the conformance run's placement
    check): the run still gives ONNX Runtime's answers, so every tensor it makes names its device."""
    from trtpipe_runner.backends.torch.conformance import unplaced_tensors_on_meta

    model = tensors_from_values_model()
    program = Program(model, "cpu")
    for n, k in ((4, 3), (2, 5)):
        x = np.arange(n, dtype=np.float32) * 0.5
        feeds = {"x": x, "k": np.array(k, np.int64)}
        tensors = [torch.from_numpy(feeds["x"]), torch.from_numpy(feeds["k"])]
        with unplaced_tensors_on_meta():
            got = program.run(tensors)
        for g, w in zip(got, run_ort(model, feeds)):
            assert g.device.type == "cpu"
            np.testing.assert_array_equal(g.numpy(), w)
