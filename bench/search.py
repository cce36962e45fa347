"""bench/search: trtpipe's precision search against onnxconverter-common's
auto_convert_mixed_precision, side by side on the same models, data and budget.

    pip install onnxconverter-common==1.16.0     # the comparison only; not a trtpipe dependency
    PYTHONPATH=runner-py python bench/search.py

Both searches push towards FP16 and validate with the same budget: cosine
similarity to the FP32 outputs >= the threshold on the evaluation set.
onnxconverter-common evaluates candidates with ONNX Runtime on the CPU, which
computes FP16 graphs in FP32, so it is run twice: as shipped ("native", where
the overflow is invisible to it), and with every ONNX Runtime session it
creates fed the FP16-storage emulation trtpipe uses ("emulated": a fair
comparison). Its final model is then checked with emulated FP16 numerics.
Printed per model: candidate evaluations, wall time, share of nodes left in
FP16 and whether the result meets the budget on real FP16 numerics; and how
many engine builds Polygraphy's `debug precision` bisection needs for one
round (about log2 of the layer count).
"""
from __future__ import annotations

import contextlib
import io
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runner-py"))

from trtpipe_runner.artifacts import ArtifactStore  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.model.tensors import tensor_types  # noqa: E402
from trtpipe_runner.precision.emulate import emulate_low_precision  # noqa: E402
from trtpipe_runner.stages import get_stage  # noqa: E402
from trtpipe_runner.stages.context import StageContext  # noqa: E402
from tests.stage_params import typed  # noqa: E402  (the params the orchestrator sends, spelled out)
from tests.stage_params import typed  # noqa: E402  (the params the orchestrator sends, spelled out)

CASES = [("overflow", 0.999), ("transformer", 0.9999999)]


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def fp16_share(model: onnx.ModelProto) -> tuple[int, int]:
    """Nodes (not Casts) computing in FP16, of the nodes computing in a float type."""
    types = tensor_types(model)
    low = total = 0
    for n in model.graph.node:
        if n.op_type in ("Cast", "Constant"):
            continue
        t = next((types.get(o) for o in n.output if types.get(o) in (1, 10)), None)
        if t is None:
            continue
        total += 1
        low += t == 10
    return low, total


def run_trtpipe(example: str, threshold: float) -> dict:
    store = ArtifactStore(Path(tempfile.mkdtemp()))
    put = lambda p: store.put_bytes(Path(p).read_bytes())  # noqa: E731
    d = ROOT / "examples" / example
    m, c, e = put(d / "model.onnx"), put(d / "calib.npz"), put(d / "eval.npz")
    ctx = lambda stage, inputs, params: StageContext(store, CancelToken(), inputs, typed(stage, params))  # noqa: E731
    ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {"eval_data": {"labels": "labels"}}))
    rng = get_stage("reference")(ctx("reference", {"model": m, "calib_data": c}, {}))
    t0 = time.perf_counter()
    s = get_stage("search")(ctx("search", {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256,
                                 "ranges": rng.outputs["ranges"].sha256},
                                {"policy": {"default": "fp16"}, "budget": {"cosine": threshold},
                                 "evaluator": "onnxruntime", "max_evaluations": 200, "batch": 1024}))
    wall = time.perf_counter() - t0
    det = s.details
    return {"evaluations": det["evaluations"], "seconds": wall, "kept": det["kept"],
            "fp16_share": det["low_nodes_share"], "cosine": det["metrics"]["cosine"]}


@contextlib.contextmanager
def emulated_sessions():
    """Every onnxruntime.InferenceSession built from model bytes sees the FP16-storage emulation."""
    import onnxruntime as ort

    real = ort.InferenceSession

    def session(model, *args, **kwargs):
        if isinstance(model, (bytes, bytearray)):
            model = emulate_low_precision(onnx.load_from_string(model))[0].SerializeToString()
        return real(model, *args, **kwargs)

    ort.InferenceSession = session
    try:
        yield
    finally:
        ort.InferenceSession = real


def run_occ(example: str, threshold: float, emulated: bool) -> dict:
    from onnxconverter_common.auto_mixed_precision import auto_convert_mixed_precision

    d = ROOT / "examples" / example
    model = onnx.load(str(d / "model.onnx"))
    feed = {"input": np.load(d / "eval.npz")["input"]}
    calls = 0

    def validate(res1, res2):
        nonlocal calls
        calls += 1
        return all(cosine(a, b) >= threshold for a, b in zip(res1, res2))

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), (emulated_sessions() if emulated else contextlib.nullcontext()):
        out = auto_convert_mixed_precision(model, feed, validate, keep_io_types=True)
    wall = time.perf_counter() - t0
    low, total = fp16_share(out)
    # The result on real FP16 numerics (emulated storage rounding).
    import onnxruntime as ort

    ref = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    got = ort.InferenceSession(emulate_low_precision(out)[0].SerializeToString(),
                               providers=["CPUExecutionProvider"]).run(None, feed)[0]
    return {"evaluations": calls - 1, "seconds": wall, "fp16_share": low / max(total, 1), "cosine": cosine(got, ref)}


def main() -> None:
    try:
        import onnxconverter_common  # noqa: F401
    except ImportError:
        print("bench/search: onnxconverter-common is not installed (pip install onnxconverter-common==1.16.0)")
        return
    print("bench/search: towards fp16, budget cosine >= threshold vs FP32 on the evaluation set (537 images)")
    print(f"  {'model':12s} {'search':34s} {'evals':>5s} {'wall s':>7s} {'fp16 nodes':>10s}  cosine on real fp16")
    for example, threshold in CASES:
        rows = [("trtpipe (emulated fp16)", run_trtpipe(example, threshold)),
                ("onnxconverter-common, native", run_occ(example, threshold, emulated=False)),
                ("onnxconverter-common, emulated", run_occ(example, threshold, emulated=True))]
        for label, r in rows:
            ok = "meets" if r["cosine"] >= threshold else "MISSES"
            print(f"  {example:12s} {label:34s} {r['evaluations']:5d} {r['seconds']:7.2f} "
                  f"{100 * r['fp16_share']:9.0f}%  {r['cosine']:.8f} ({ok} {threshold})")
        kept = rows[0][1]["kept"]
        layers = sum(1 for n in onnx.load(str(ROOT / 'examples' / example / 'model.onnx')).graph.node
                     if n.op_type not in ("Constant", "Shape"))
        print(f"  {example:12s} trtpipe keeps in fp32: {', '.join(kept) or 'nothing'}")
        print(f"  {example:12s} Polygraphy debug precision (bisect over ~{layers} layers): about "
              f"{math.ceil(math.log2(layers))} TensorRT engine builds per round, answering 'the first N layers'")


if __name__ == "__main__":
    main()
