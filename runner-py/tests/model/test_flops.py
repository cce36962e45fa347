"""FLOPs per node at the shapes the pipeline runs, not at dynamic dimensions pinned to 1."""
from __future__ import annotations

import numpy as np

from trtpipe_runner.data.dataset import Dataset
from trtpipe_runner.model.flops import flop_shapes, node_flops

from ..fixtures.models import dynamic_sequence


def test_dynamic_sequence_axes_take_the_declared_or_the_evaluated_shape():
    model = dynamic_sequence()
    declared = node_flops(model, flop_shapes({"x": {"min": [1, 1, 8], "opt": [1, 128, 8], "max": [8, 512, 8]}}))
    assert declared["proj"] == 2 * 128 * 8 * 8
    assert declared["scores"] == 2 * 128 * 128 * 8
    assert declared["softmax"] == 128 * 128
    assert declared["scale_const"] == 0, "a Constant computes nothing"
    data = Dataset({"x": np.zeros((32, 64, 8), np.float32)})
    evaluated = node_flops(model, flop_shapes(None, data))
    assert evaluated["scores"] == 2 * 64 * 64 * 8, "one sample of the evaluation data: batch 1, its sequence length"
    assert flop_shapes({"x": {"opt": [1, 128, 8]}}, data) == {"x": [1, 128, 8]}, "declared shapes come first"


def test_a_dimension_written_as_minus_one_is_dynamic():
    """Paddle2ONNX exports write dynamic dimensions as dim_value -1 (the PP-OCR models
    rapidocr ships): they are dynamic, not a batch of -1 that runs no data at all."""
    from trtpipe_runner.data.dataset import fixed_batch
    from trtpipe_runner.model.tensors import graph_inputs

    model = dynamic_sequence()
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for d in dims[:2]:
        d.dim_value = -1
    assert graph_inputs(model)[0].shape == ("?", "?", 8)
    assert fixed_batch(graph_inputs(model)) is None
    assert node_flops(model, {"x": [1, 16, 8]})["scores"] == 2 * 16 * 16 * 8


def test_shapes_recorded_in_the_model_are_inferred_again():
    """The opset converter records every tensor's shape as it saw it, -1 for a dynamic batch
    included: FLOPs of a converted model must still come from the pinned inputs (the search
    counts them on it)."""
    from onnx import TensorProto, helper

    model = dynamic_sequence()
    model.graph.value_info.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, [-1, -1, -1]))
    assert node_flops(model, {"x": [1, 16, 8]})["softmax"] == 16 * 16
