"""Backends: what builds and runs an annotated ONNX model on some hardware.

Each backend lives in its own folder (`backends/<name>/backend.py` exposing
`create()`), imported lazily, so a runner without TensorRT or PyTorch still
starts and reports why that backend is missing (capabilities.py).
"""
from __future__ import annotations

import importlib

from ..errors import UnsupportedError

BACKENDS = ("onnxruntime", "tensorrt", "torch")


def get_backend(name: str):
    """Returns a Backend instance; UnsupportedError for unknown/missing ones."""
    if name not in BACKENDS:
        raise UnsupportedError(f"unknown backend '{name}' (known: {', '.join(BACKENDS)})", code="BACKEND_UNKNOWN")
    try:
        module = importlib.import_module(f"{__name__}.{name}.backend")
    except ModuleNotFoundError as exc:
        raise UnsupportedError(f"backend '{name}' is not available on this runner: {exc}",
                               code="BACKEND_UNAVAILABLE") from None
    return module.create()
