"""Fixtures of the TensorRT backend tests: recorded inspector samples and annotated example models."""
from __future__ import annotations

import pytest

from .helpers import DATA, annotated


@pytest.fixture(scope="session")
def digits_fp16():
    return annotated("digits", {"default": "fp16", "io": "keep"})[0]


@pytest.fixture(scope="session")
def overflow_fp16_norm_fp32():
    return annotated("overflow", {"default": "fp16", "io": "keep",
                                  "rules": [{"match": {"name": ["/norm/*"]}, "use": "fp32"}]})[0]


@pytest.fixture(scope="session")
def trt10_sample() -> str:
    return (DATA / "digits_fp16_trt10.json").read_text()


@pytest.fixture(scope="session")
def trt11_sample() -> str:
    return (DATA / "overflow_fp16_trt11.json").read_text()
