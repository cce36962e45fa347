"""compile: true: specialized plans compiled by TorchInductor (inductor.py), on the CPU here."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the torch backend's tests need it")

from trtpipe_runner.backends.torch.program import Program  # noqa: E402
from trtpipe_runner.errors import UnsupportedError  # noqa: E402

from .onnx_graphs import run_ort  # noqa: E402
from .test_torch_program import dynamic_reshape_model  # noqa: E402


def test_second_run_of_a_shape_runs_compiled_with_the_same_results():
    model = dynamic_reshape_model()
    program = Program(model, "cpu", compile_plans=True)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    want = run_ort(model, {"x": x})[0]
    for _ in range(3):
        (got,) = program.run([torch.from_numpy(x)])
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    assert program.plan_for([torch.zeros(4, 6)]).compiled
    (odd,) = program.run([torch.zeros(3, 6)])  # a shape met once: specialized, never compiled
    assert odd.shape == (3, 2, 3) and not program.plan_for([torch.zeros(3, 6)]).compiled


def test_a_model_that_cannot_compile_says_so(monkeypatch):
    def refuse(fn, **kwargs):
        def run(*args):
            raise RuntimeError("Cannot find a working triton installation")
        return run

    monkeypatch.setattr(torch, "compile", refuse)
    program = Program(dynamic_reshape_model(), "cpu", compile_plans=True)
    x = torch.zeros(2, 6)
    program.run([x])
    with pytest.raises(UnsupportedError) as exc:
        program.run([x])
    assert exc.value.code == "TORCH_COMPILE_FAILED" and "triton" in exc.value.message and "compile: false" in exc.value.message
