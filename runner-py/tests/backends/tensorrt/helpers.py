"""Helpers for the TensorRT backend tests: sample paths and annotated example models."""
from __future__ import annotations

from pathlib import Path

from ... import stage_params
from ...fixtures.models import EXAMPLES

DATA = Path(__file__).parent / "data"

__all__ = ["DATA", "EXAMPLES", "annotated", "shape_output_model"]


def annotated(example: str, policy: dict):
    """The example model annotated by trtpipe's own transform (policy -> annotate), and its decisions."""
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.policy import parse_policy, resolve

    model = load_model(EXAMPLES / example / "model.onnx")
    policy_obj = parse_policy(stage_params.policy(**policy))
    decisions = resolve(model, policy_obj)
    out, _ = annotate(model, decisions, keep_io=policy_obj.io == "keep")
    return out, decisions


def shape_output_model():
    """y = Relu(x) and s = Shape(x): a shape-tensor output, which TensorRT keeps on the host."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="/relu"), helper.make_node("Shape", ["x"], ["s"], name="/shape")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
         helper.make_tensor_value_info("s", TensorProto.INT64, [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
