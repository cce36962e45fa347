"""int8 with `precision.unquantized: fp16` through the stages, built with the TensorRT test double.

calibrate -> transform (raised to opset 19 for fp16 Q/DQ scales) -> build (FakeTensorRT 10.6) -> explain ->
evaluate. The double runs the graph as written (ONNX Runtime) and lists one layer per ONNX node
with the graph's own types, so it checks the build path, explain's reading of every node and the
numerics, not TensorRT's fusions (those are in the real 10.6 dumps, test_trt_real_dumps.py).
"""
from __future__ import annotations

import numpy as np
import onnxruntime as ort

from trtpipe_runner.artifacts import ArtifactStore
from trtpipe_runner.run_stage import run_stage
from trtpipe_runner.stages.common import npz_bytes

from ...fixtures.models import residual_cnn
from ...stage_params import complete
from .fake_tensorrt import install_fake


def test_int8_with_fp16_leftovers_builds_explains_and_evaluates(monkeypatch, tmp_path):
    install_fake(monkeypatch, "10.6.0")
    store = ArtifactStore(tmp_path / "store")
    model = residual_cnn()
    x = np.random.default_rng(0).normal(size=(32, 3, 8, 8)).astype(np.float32)
    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    m, data = store.put_bytes(model.SerializeToString()), store.put_bytes(npz_bytes({"x": x}))

    scales, _ = run_stage("calibrate", {"model": m, "calib_data": data}, complete("calibrate", {"method": "minmax"}),
                          store)
    t, _ = run_stage("transform", {"model": m, "scales": scales.outputs["scales"].sha256},
                     complete("transform", {"policy": {"default": "int8", "unquantized": "fp16"}}), store)
    assert t.details["opset"] == 19, "raised from 17: fp16 Q/DQ scales need 19"
    assert t.details["inserted"]["qdq_residuals"] == 2 and t.details["inserted"]["casts"] == 2
    lock = {r["node"]: r for r in t.details["lock"]}
    assert (lock["/b1/Add"]["resolved"], lock["/b1/Add"]["reason"]) == ("fp16", "NOT_QUANTIZABLE")
    assert "precision.unquantized" in lock["/b1/Add"]["detail"]

    b, _ = run_stage("build", {"model": t.outputs["model"].sha256},
                     complete("build", {"backend": "tensorrt", "precision": "int8", "max_batch": 32,
                                        "timing_cache_dir": "timing"}), store)
    rows = {r["node"]: r for r in b.details["explain"]}
    assert set(rows) == set(lock), "explain reads every node of the engine"
    # nothing runs in fp32 any more: the leftovers are fp16, and so is the quantized layers' float math
    assert b.details["realized_counts"] == {"fp16": len(lock)}
    assert "intended int8" in rows["/b1/conv1/Conv"]["detail"]

    ev, _ = run_stage("evaluate", {"engine": b.outputs["engine"].sha256, "eval_data": data,
                                   "reference": store.put_bytes(npz_bytes({"y": ref}))},
                      complete("evaluate", {"backend": "tensorrt"}), store)
    assert ev.metrics["cosine"] > 0.995
