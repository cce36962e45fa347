"""Shared fixtures: recorded inspector samples and annotated example models."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DATA = HERE / "data"
REPO = HERE.parents[3]
EXAMPLES = REPO / "examples"

sys.path.insert(0, str(HERE))  # fake_tensorrt, the TensorRT test double


def annotated(example: str, policy: dict):
    """The example model annotated by trtpipe's own transform (policy -> annotate)."""
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.policy import parse_policy, resolve

    model = load_model(EXAMPLES / example / "model.onnx")
    policy_obj = parse_policy(policy)
    decisions = resolve(model, policy_obj)
    out, _ = annotate(model, decisions, keep_io=policy_obj.io == "keep")
    return out, decisions


@pytest.fixture(scope="session")
def digits_fp16():
    return annotated("digits", {"default": "fp16", "io": "keep"})[0]


@pytest.fixture(scope="session")
def overflow_fp16_norm_fp32():
    return annotated("overflow", {"default": "fp16", "io": "keep",
                                  "rules": [{"match": {"name": "/norm/*"}, "use": "fp32"}]})[0]


@pytest.fixture(scope="session")
def trt10_sample() -> str:
    return (DATA / "digits_fp16_trt10.json").read_text()


@pytest.fixture(scope="session")
def trt11_sample() -> str:
    return (DATA / "overflow_fp16_trt11.json").read_text()
