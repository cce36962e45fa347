"""Per-tensor error statistics: batch by batch equals all at once, and the digits near 1 survive."""
from __future__ import annotations

import math

import numpy as np
import pytest

from trtpipe_runner.localize.padding import real_positions
from trtpipe_runner.localize.stats import TensorStats


def test_batches_add_up_to_the_whole_and_match_numpy():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(12, 5, 7)).astype(np.float32)
    low = (ref + rng.normal(scale=1e-3, size=ref.shape)).astype(np.float16)
    whole, parts = TensorStats(), TensorStats()
    whole.add(low, ref)
    for i in range(0, 12, 5):
        parts.add(low[i:i + 5], ref[i:i + 5])
    a, r = low.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    assert whole.rel_error == pytest.approx(np.linalg.norm(a - r) / np.linalg.norm(r), rel=1e-12)
    assert whole.cosine == pytest.approx(a @ r / (np.linalg.norm(a) * np.linalg.norm(r)), abs=1e-12)
    assert whole.max_abs == pytest.approx(np.abs(a - r).max())
    for field in ("rel_error", "cosine", "max_abs"):
        assert getattr(parts, field) == pytest.approx(getattr(whole, field), rel=1e-12)


def test_cosine_keeps_the_digits_that_tell_it_from_one():
    # Unit vectors turned by 1e-8 rad: 1 - cos = 5e-17, below float64's resolution near 1 (a . r /
    # (|a| |r|) gives 1 give or take 2e-16); computed from the difference, the gap survives.
    theta = 1e-8
    ref = np.tile([1.0, 0.0], 1000)
    low = np.tile([np.cos(theta), np.sin(theta)], 1000)
    s = TensorStats()
    s.add(low, ref)
    assert 1 - s.cosine == pytest.approx(theta ** 2 / 2, rel=1e-6)
    assert s.rel_error == pytest.approx(theta, rel=1e-6)


def test_nan_and_inf_born_in_the_low_value_are_counted_and_make_the_error_infinite():
    ref = np.ones((2, 3), np.float32)
    low = np.array([[1, np.inf, 1], [np.nan, 1, 1]], np.float32)
    s = TensorStats()
    s.add(low, ref)
    assert s.nonfinite == 2 and s.rel_error == math.inf and s.cosine == 0.0
    own = TensorStats()
    own.add(ref, ref)
    own.add_own(low, np.array([[1, np.inf, 1], [1, 1, 1]], np.float32))  # the inf came in with the inputs
    assert own.own_nonfinite == 1 and own.own_error == math.inf


def test_padded_positions_are_left_out_on_every_sequence_axis():
    keep = np.array([[1, 1, 0], [1, 0, 0]], bool)  # two sequences of length 3: 2 and 1 real tokens
    hidden = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    a, r = real_positions(hidden, hidden, keep)
    assert a.size == 3 * 4
    scores = np.ones((2, 5, 3, 3), np.float32)  # [batch, heads, query, key]
    a, _ = real_positions(scores, scores, keep)
    assert a.size == 5 * (2 * 2 + 1 * 1)
    other = np.ones((2, 7), np.float32)  # no sequence axis: counted whole
    assert real_positions(other, other, keep)[0].size == 14
