"""The example models, their data, annotated variants and the int8 Q/DQ stand-in from bench/."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[4]
EXAMPLES = ("digits", "transformer", "overflow")


def example(name: str):
    """(FP32 model with named nodes, eval inputs, labels, calibration inputs)."""
    from trtpipe_runner.model.load import load_model

    root = REPO / "examples" / name
    ev = np.load(root / "eval.npz")
    return load_model(root / "model.onnx"), ev["input"], ev["labels"], np.load(root / "calib.npz")["input"]


def annotated(model, precision: str):
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.policy import parse_policy, resolve

    out, _ = annotate(model, resolve(model, parse_policy({"default": precision})), keep_io=True)
    return out


def int8_qdq(model, calib: np.ndarray):
    """Q/DQ from bench/qdq_minmax.py (the stand-in for the calibrate stage)."""
    if str(REPO / "bench") not in sys.path:
        sys.path.append(str(REPO / "bench"))
    from qdq_minmax import insert_qdq_minmax

    return insert_qdq_minmax(model, {"input": calib})


def cosine(a, b) -> float:
    from trtpipe_runner.evaluation.metrics import cosine as cos

    return cos(np.asarray(a, np.float64), np.asarray(b, np.float64))
