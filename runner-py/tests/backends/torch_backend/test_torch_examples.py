"""The example models on the torch backend (CPU) against ONNX Runtime CPU and the FP32 reference."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's conversion tests need it")

from .examples_data import EXAMPLES, annotated, cosine, example, int8_qdq  # noqa: E402
from .onnx_graphs import run_ort, run_torch  # noqa: E402


@pytest.mark.parametrize("name", EXAMPLES)
def test_fp32_matches_onnxruntime(name):
    model, x, _, _ = example(name)
    (want,) = run_ort(model, {"input": x})
    for fuse in (False, True):
        (got,) = run_torch(model, {"input": x}, fuse=fuse)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("name", EXAMPLES)
def test_int8_qdq_matches_onnxruntime(name, tmp_path):
    """Q/DQ graphs agree with ONNX Runtime's to fp32 rounding, except where a value computed in a
    different summation order lands on the other side of a quantization step (a handful of elements)."""
    model, x, _, calib = example(name)
    q = int8_qdq(model, calib, tmp_path)
    (want,) = run_ort(q, {"input": x})
    (got,) = run_torch(q, {"input": x}, fuse=False)
    close = np.isclose(got, want, rtol=1e-4, atol=1e-5)
    assert close.mean() > 0.99, f"{(~close).sum()} of {close.size} outputs differ"
    assert cosine(got, want) > 0.99999
    assert (got.argmax(1) == want.argmax(1)).mean() > 0.995
    (ref,) = run_ort(model, {"input": x})
    assert cosine(got, ref) > 0.999


@pytest.mark.parametrize("name,precision,floor", [
    ("digits", "fp16", 0.9999), ("digits", "bf16", 0.9999), ("transformer", "fp16", 0.9999),
    ("transformer", "bf16", 0.999), ("overflow", "bf16", 0.9999)])
def test_low_precision_stays_close_to_the_reference(name, precision, floor):
    model, x, labels, _ = example(name)
    (ref,) = run_ort(model, {"input": x})
    (got,) = run_torch(annotated(model, precision), {"input": x})
    assert got.dtype == np.float32  # io kept fp32
    assert cosine(got, ref) > floor
    assert (got.argmax(1) == labels).mean() >= (ref.argmax(1) == labels).mean() - 0.01


def test_fp16_overflow_example_breaks_as_on_a_gpu():
    """The decomposed LayerNorm's Pow overflows fp16: real fp16 shows it; ONNX Runtime CPU hides it."""
    model, x, _, _ = example("overflow")
    (ref,) = run_ort(model, {"input": x})
    fp16 = annotated(model, "fp16")
    (got,) = run_torch(fp16, {"input": x})
    (ort_fp16,) = run_ort(fp16, {"input": x}, optimize=True)
    assert cosine(got, ref) < 0.9
    assert cosine(ort_fp16, ref) > 0.999  # computed in fp32 behind the graph's back
