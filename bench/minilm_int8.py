#!/usr/bin/env python3
"""int8 on a real transformer (issue 12): all-MiniLM-L6-v2, trtpipe's Q/DQ against ONNX Runtime's quantizer.

    .venv/bin/python bench/minilm_int8.py [--json out.json]

Needs the example's model (`npm run setup` writes examples/minilm/model.onnx)
and the runner's environment (.venv: onnx, onnxruntime, numpy); CPU only,
5-12 minutes on 2 cores (--quick: entropy only, about a third of that). Every variant is calibrated on the example's 128
calibration texts and evaluated on its 256 evaluation texts against the FP32
model, all on ONNX Runtime CPU with graph optimizations off (Q/DQ computed as
written: quantize, dequantize, FP32 math, what an int8 kernel computes up to
accumulation order). Printed per variant: sentence-embedding cosine (mean over
texts; the embeddings are unit vectors), the worst text's cosine, and
nearest-neighbour agreement (each text's nearest other text is FP32's).

trtpipe variants: the 48 MatMuls (36 linear layers + 12 attention MatMuls)
quantized, as a rule `{ match: { op: [MatMul] }, use: int8 }` asks; the
default `default: int8` (the 36 linear layers; attention MatMuls stay fp32);
each with SmoothQuant (calibration.smoothing.alpha) at several strengths and
each calibration method. Anchor: onnxruntime.quantization.quantize_static
(QDQ, per-channel int8 weights, symmetric int8 activations, same calibration
texts), on the MatMuls and with its default op set.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "runner-py"))
EXAMPLE = REPO / "examples" / "minilm"


def session(model_or_path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    src = str(model_or_path) if isinstance(model_or_path, Path) else model_or_path.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def embed(sess, data: dict[str, np.ndarray], batch: int = 64) -> np.ndarray:
    n = len(data["input_ids"])
    return np.concatenate([sess.run(None, {k: v[i:i + batch] for k, v in data.items()})[0] for i in range(0, n, batch)])


def scores(got: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    from trtpipe_runner.evaluation.metrics import cosine, nn_agreement

    per_text = (got * ref).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
    return {"cosine": cosine(got.astype(np.float64), ref.astype(np.float64)), "worst_text_cosine": float(per_text.min()),
            "nn_agreement": nn_agreement(got, ref)}


def trtpipe_int8(model, calib: dict, method: str, alpha: float | None, attention: bool):
    from trtpipe_runner.calibration.collect import calibrate
    from trtpipe_runner.calibration.ranges import quantized_inputs
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.precision.annotate import annotate, check_annotated
    from trtpipe_runner.precision.policy import parse_policy, resolve
    from trtpipe_runner.precision.qdq import insert_qdq

    n = len(calib["input_ids"])
    batches = lambda: ({k: v[i:i + 32] for k, v in calib.items()} for i in range(0, n, 32))  # noqa: E731
    result = calibrate(model, quantized_inputs(model), batches, method, 99.99, "cpu", CancelToken(), alpha)
    rules = [{"match": {"op": ["MatMul"]}, "use": "int8"}] if attention else []
    decisions = resolve(model, parse_policy({"default": "int8", "rules": rules}))
    annotated, _ = annotate(model, decisions)
    counts = insert_qdq(annotated, decisions, result.amax, True, 17, result.smoothing)
    check_annotated(annotated)
    return annotated, sum(d.resolved == "int8" for d in decisions), counts


def ort_int8(model_path: Path, calib: dict, out: Path, method: str, matmul_only: bool) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            n = len(calib["input_ids"])
            self.it = iter([{k: v[i:i + 32] for k, v in calib.items()} for i in range(0, n, 32)])

        def get_next(self):
            return next(self.it, None)

    import shutil

    source = out.with_name("fp32.onnx")  # quantize_static writes a shape-inferred copy next to its input
    shutil.copyfile(model_path, source)
    quantize_static(str(source), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul"] if matmul_only else None,
                    calibrate_method={"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy}[method],
                    extra_options={"ActivationSymmetric": True, "WeightSymmetric": True})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--alphas", default="0.5,0.8")
    ap.add_argument("--quick", action="store_true", help="entropy only, fewer variants")
    args = ap.parse_args()
    import onnx

    from trtpipe_runner.model.load import load_model

    path = EXAMPLE / "model.onnx"
    if not path.is_file():
        sys.exit("examples/minilm/model.onnx is missing: run `npm run setup` (or examples/minilm/export.py)")
    model = load_model(path)
    calib = dict(np.load(EXAMPLE / "calib.npz"))
    evald = dict(np.load(EXAMPLE / "eval.npz"))
    ref = embed(session(path), evald)
    rows = []

    def record(name: str, got: np.ndarray, extra: str = "") -> None:
        s = scores(got, ref)
        rows.append({"variant": name, **s})
        print(f"{name:<58} cosine {s['cosine']:.6f}  worst {s['worst_text_cosine']:.4f}  "
              f"NN agreement {s['nn_agreement']:.4f}  {extra}", flush=True)

    methods = ["entropy"] if args.quick else ["entropy", "minmax", "percentile"]
    alphas = [float(a) for a in args.alphas.split(",") if a]
    for method in methods:
        for attention in (True, False):
            for alpha in [None, *alphas]:
                if attention and alpha is not None and method != "entropy":
                    continue
                t0 = time.perf_counter()
                q, n_int8, counts = trtpipe_int8(model, calib, method, alpha, attention)
                name = (f"trtpipe {method}, {'48 MatMuls' if attention else '36 linear MatMuls'}"
                        f"{f', smoothing {alpha}' if alpha is not None else ''}")
                record(name, embed(session(q), evald), f"({n_int8} int8 nodes, {time.perf_counter() - t0:.1f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        for method in (["entropy"] if args.quick else ["entropy", "minmax"]):
            for matmul_only in (True, False):
                t0 = time.perf_counter()
                out = ort_int8(path, calib, Path(tmp) / "q.onnx", method, matmul_only)
                q = onnx.load(str(out))
                n_q = sum(n.op_type == "QuantizeLinear" for n in q.graph.node)
                record(f"onnxruntime quantize_static {method}, {'MatMul' if matmul_only else 'default ops'}",
                       embed(session(out), evald), f"({n_q} QuantizeLinear, {time.perf_counter() - t0:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
