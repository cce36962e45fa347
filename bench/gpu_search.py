"""bench/gpu_search: the precision search with the GPU evaluator (torch backend)
next to the CPU evaluator (ONNX Runtime, emulated FP16/BF16), same models,
budgets and data: evaluations, wall time, kept nodes. Needs a CUDA GPU and
PyTorch (prints why not otherwise).

    PYTHONPATH=runner-py python3 bench/gpu_search.py [--out results.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runner-py"))

from trtpipe_runner.artifacts import ArtifactStore  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.capabilities import probe_torch  # noqa: E402
from trtpipe_runner.stages import get_stage  # noqa: E402
from trtpipe_runner.stages.context import StageContext  # noqa: E402
from tests.stage_params import typed  # noqa: E402  (the params the orchestrator sends, spelled out)

CASES = [  # example, precision searched towards, budget
    ("overflow", "fp16", {"cosine": 0.999}),
    ("transformer", "bf16", {"cosine": 0.99999}),
    ("transformer", "int8", {"cosine": 0.99999}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    args = ap.parse_args()
    if not probe_torch().available:
        print(f"bench/gpu_search: skipped: {probe_torch().reason}")
        return
    rows = []
    for example, towards, budget in CASES:
        store = ArtifactStore(Path(tempfile.mkdtemp()))
        put = lambda n: store.put_bytes((ROOT / "examples" / example / n).read_bytes())  # noqa: E731
        m, c, e = put("model.onnx"), put("calib.npz"), put("eval.npz")
        ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, typed(stage, p))  # noqa: E731
        ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {"eval_data": {"labels": "labels"}}))
        rng = get_stage("reference")(ctx("reference", {"model": m, "calib_data": c}, {}))
        inputs = {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256,
                  "ranges": rng.outputs["ranges"].sha256}
        if towards == "int8":
            cal = get_stage("calibrate")(ctx("calibrate", {"model": m, "calib_data": c}, {"method": "entropy"}))
            inputs["scales"] = cal.outputs["scales"].sha256
        for evaluator in ("onnxruntime", "torch"):
            t0 = time.perf_counter()
            d = get_stage("search")(ctx("search", inputs, {"policy": {"default": towards}, "budget": budget,
                                                 "evaluator": evaluator, "eval_data": {"labels": "labels"},
                                                 "max_evaluations": 64})).details
            row = {"model": example, "towards": towards, "budget": budget, "evaluator": evaluator,
                   "evaluations": d["evaluations"], "seconds": round(time.perf_counter() - t0, 2), "kept": d["kept"],
                   "blanket_cosine": d["blanket_metrics"]["cosine"], "final_cosine": d["metrics"]["cosine"],
                   "low_flops_share": d["low_flops_share"]}
            rows.append(row)
            print(f"{example:12s} {towards:5s} {evaluator:12s} evals {row['evaluations']:3d}  {row['seconds']:6.2f} s  "
                  f"blanket cos {row['blanket_cosine']:.7f} -> {row['final_cosine']:.7f}  kept {row['kept']}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
