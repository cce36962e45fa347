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
