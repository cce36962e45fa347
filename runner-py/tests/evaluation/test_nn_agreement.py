"""Nearest-neighbour agreement: the metric for embeddings."""
from __future__ import annotations

import numpy as np

from trtpipe_runner.evaluation import metrics
from trtpipe_runner.evaluation.metrics import compare, nn_agreement


def test_identical_embeddings_agree_and_a_swapped_neighbour_does_not():
    ref = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert nn_agreement(ref.copy(), ref) == 1.0
    cand = ref.copy()
    cand[1] = [0.2, 0.8]  # sample 1's nearest is now sample 3; the others keep theirs
    assert nn_agreement(cand, ref) == 0.75


def test_blocks_give_the_same_neighbours_as_one_matrix(monkeypatch):
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((300, 16))
    cand = ref + 0.3 * rng.standard_normal(ref.shape)
    whole = nn_agreement(cand, ref)
    monkeypatch.setattr(metrics, "NN_BLOCK", 7)
    assert nn_agreement(cand, ref) == whole and 0.0 < whole < 1.0


def test_compare_reports_it_when_asked_and_within_the_sample_bound(monkeypatch):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((8, 4)), rng.standard_normal((8, 4))
    assert "nn_agreement" in compare(a, b, nearest=True)
    assert "nn_agreement" not in compare(a, b)  # a metric the pipeline did not ask for
    assert "nn_agreement" in compare(rng.standard_normal((8, 4, 2)), rng.standard_normal((8, 4, 2)), nearest=True)
    monkeypatch.setattr(metrics, "NN_MAX_SAMPLES", 5)
    assert "nn_agreement" not in compare(a, b, nearest=True)
