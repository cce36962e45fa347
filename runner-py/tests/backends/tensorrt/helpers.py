"""Helpers for the TensorRT backend tests: sample paths and annotated example models."""
from __future__ import annotations

from pathlib import Path

from ...fixtures.models import EXAMPLES

DATA = Path(__file__).parent / "data"

__all__ = ["DATA", "EXAMPLES", "annotated"]


def annotated(example: str, policy: dict):
    """The example model annotated by trtpipe's own transform (policy -> annotate), and its decisions."""
    from trtpipe_runner.model.load import load_model
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.policy import parse_policy, resolve

    model = load_model(EXAMPLES / example / "model.onnx")
    policy_obj = parse_policy(policy)
    decisions = resolve(model, policy_obj)
    out, _ = annotate(model, decisions, keep_io=policy_obj.io == "keep")
    return out, decisions
