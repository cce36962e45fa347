"""Without PyTorch the runner still works and says why the torch backend is missing (runs in CI)."""
from __future__ import annotations

import sys

import pytest

from trtpipe_runner.backends import get_backend
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.capabilities import probe_torch
from trtpipe_runner.errors import UnsupportedError


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError


def test_backend_explains_that_torch_is_missing(no_torch, tmp_path):
    backend = get_backend("torch")  # importing the backend needs no torch
    with pytest.raises(UnsupportedError) as err:
        backend.build(tmp_path / "m.onnx", tmp_path, {}, CancelToken())
    assert err.value.code == "BACKEND_UNAVAILABLE" and "PyTorch" in err.value.message
    with pytest.raises(UnsupportedError):
        backend.load(tmp_path / "m.onnx", {})


def test_capabilities_say_not_installed(no_torch):
    info = probe_torch()
    assert not info.available and info.reason.startswith("torch: not installed")
