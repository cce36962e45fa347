"""Intermediate tensors out of a TensorRT engine (the localize stage), against the test double.

The backend marks the tensors in the parsed network as Polygraphy's `mark all`
does; what the double cannot show (the kernels' rounding) the localize tests
on ONNX Runtime and torch cover.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from trtpipe_runner.backends import get_backend
from trtpipe_runner.backends.tensorrt.mark import mark_outputs
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.data.dataset import load_npz
from trtpipe_runner.localize.capture import localize
from trtpipe_runner.model.load import load_model
from trtpipe_runner.model.tensors import graph_inputs

from ... import stage_params
from .fake_tensorrt import install_fake
from .helpers import EXAMPLES, annotated, shape_output_model


@pytest.mark.parametrize("version", ["10.6.0", "11.1.0"])
def test_capture_marks_named_tensors_and_says_why_others_are_missing(monkeypatch, tmp_path, version):
    install_fake(monkeypatch, version)
    model, _ = annotated("overflow", {"default": "fp16", "io": "keep"})
    inner = [n.output[0] for n in model.graph.node if n.op_type in ("Gemm", "Softmax", "ReduceMean")]
    settings = stage_params.build("fp16", backend="tensorrt", max_batch=8)
    cap = get_backend("tensorrt").capture(model, tmp_path, settings, inner + ["nowhere"], CancelToken())
    try:
        assert cap.tensors == inner
        assert "not a tensor of the TensorRT network" in cap.missing["nowhere"]
        assert cap.details == {"marked": len(inner), "not_marked": 1}
        with np.load(EXAMPLES / "overflow" / "eval.npz") as data:
            x = data["input"][:4]
        got = cap.session.run({"input": x})
        assert set(inner) <= set(got) and all(got[t].shape[0] == 4 for t in inner)
    finally:
        cap.session.close()


def test_shape_and_constant_layers_are_not_marked(monkeypatch):
    trt = install_fake(monkeypatch)
    model = shape_output_model()
    model.graph.node.append(helper.make_node("Constant", [], ["c"], name="/const",
                                             value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])))
    network = trt.Builder(trt.Logger()).create_network(0)
    path = onnx.helper.make_model(model.graph, opset_imports=model.opset_import)
    parser = trt.OnnxParser(network, trt.Logger())
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
        onnx.save(path, f.name)
        assert parser.parse_from_file(f.name)
    missing = mark_outputs(trt, network, ["y", "s", "c"])
    # y is already an output; s comes out of a shape layer; the parser folded the Constant away.
    assert set(missing) == {"s", "c"}
    assert "shape or constant layer" in missing["s"] and "folded" in missing["c"]


def test_localize_through_the_double_matches_onnxruntime(monkeypatch, tmp_path):
    """The double runs the plan's graph with ONNX Runtime, optimizations off: localizing through it
    must give what localizing on ONNX Runtime with optimizations off gives, node for node."""
    install_fake(monkeypatch, "11.1.0")
    fp32 = load_model(EXAMPLES / "digits" / "model.onnx", with_data=True)
    low, _ = annotated("digits", {"default": "fp16", "io": "keep"})
    data = load_npz(EXAMPLES / "digits" / "eval.npz", graph_inputs(fp32), labels_key="labels", samples=16)
    runs = {}
    for backend, settings in (("tensorrt", stage_params.build("fp16", backend="tensorrt", max_batch=8)),
                              ("onnxruntime", stage_params.build("fp16", opt_level="disable"))):
        scratch = tmp_path / backend
        scratch.mkdir()
        runs[backend] = localize(fp32, low, backend, settings, data, scratch, CancelToken(), samples=16, batch=8,
                                 device="cpu").attribution
    trt_rows = {n.node: n for n in runs["tensorrt"].nodes}
    ort_rows = {n.node: n for n in runs["onnxruntime"].nodes}
    assert trt_rows.keys() == ort_rows.keys() and len(trt_rows) > 5
    for name, row in ort_rows.items():
        assert trt_rows[name].rel_error == pytest.approx(row.rel_error, rel=1e-9, abs=1e-12)
        assert trt_rows[name].added == pytest.approx(row.added, rel=1e-9, abs=1e-12)
