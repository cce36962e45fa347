"""The example models, their data, annotated variants and the int8 Q/DQ stand-in from bench/."""
from __future__ import annotations

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
    """The model annotated to fp16/bf16 by the precision engine (bf16 needs opset 22 for Conv/Pool)."""
    from trtpipe_runner.precision.annotate import annotate
    from trtpipe_runner.precision.opset import convert_opset
    from trtpipe_runner.precision.policy import resolve

    from ...stage_params import policy_of

    if precision == "bf16":
        model = convert_opset(model, 22)
    out, _ = annotate(model, resolve(model, policy_of({"default": precision})), keep_io=True)
    return out


def int8_qdq(model, calib: np.ndarray, tmp: Path):
    """The int8 Q/DQ graph the calibrate (minmax) and transform stages make."""
    import onnx

    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.run_stage import run_stage

    from ... import stage_params

    store = ArtifactStore(tmp / "store")
    src = store.put_bytes(model.SerializeToString())
    buf = tmp / "calib.npz"
    np.savez(buf, input=calib)
    calib_sha = store.put_bytes(buf.read_bytes())
    scales, _ = run_stage("calibrate", {"model": src, "calib_data": calib_sha},
                          stage_params.calibrate(method="minmax"), store)
    out, _ = run_stage("transform", {"model": src, "scales": scales.outputs["scales"].sha256},
                       stage_params.transform("int8"), store)
    return onnx.load_from_string(store.read_bytes(out.outputs["model"].sha256))


def cosine(a, b) -> float:
    from trtpipe_runner.evaluation.metrics import cosine as cos

    return cos(np.asarray(a, np.float64), np.asarray(b, np.float64))
