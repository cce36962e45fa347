"""bench/gpu_chain: the precision chain on the GPU evaluator (torch backend): for every shipped
example and precision, what the search kept and measured next to what the transform locks, what
the torch build realizes (its explain) and what its evaluation measures. The CPU version of this
check is runner-py/tests/search/test_chain.py; this one needs a CUDA GPU and PyTorch (it says why
not otherwise) and no Node.js:

    PYTHONPATH=runner-py python3 bench/gpu_chain.py [--out results.json]

Prints one line per case; "lock = search" and the cosine difference should be True and ~0.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runner-py"))

from trtpipe_runner.artifacts import ArtifactStore  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.capabilities import probe_torch  # noqa: E402
from trtpipe_runner.stages import get_stage  # noqa: E402
from trtpipe_runner.stages.context import StageContext  # noqa: E402
from tests.stage_params import typed  # noqa: E402  (the params the orchestrator sends, spelled out)

SAFETY = {"data_max": 512, "init_max": 65504}
CASES = [  # example, towards, extra policy, budget
    ("digits", "fp16", {}, {"cosine": 0.999999}),
    ("digits", "bf16", {"opset": 22}, {"cosine": 0.9999}),
    ("digits", "int8", {}, {"cosine": 0.99999}),
    ("digits", "fp8", {"opset": 22}, {"cosine": 0.9999}),
    ("overflow", "fp16", {}, {"cosine": 0.999}),
    ("overflow", "fp16", {"safety": {"data_max": None, "init_max": None}}, {"cosine": 0.999}),
    ("transformer", "fp16", {}, {"cosine": 0.99999}),
    ("transformer", "bf16", {"opset": 22}, {"cosine": 0.99999}),
    ("transformer", "int8", {}, {"cosine": 0.9999}),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    args = ap.parse_args()
    if not probe_torch().available:
        print(f"bench/gpu_chain: skipped: {probe_torch().reason}")
        return
    store = ArtifactStore(Path(tempfile.mkdtemp()))
    ctx = lambda stage, i, p: StageContext(store, CancelToken(), i, typed(stage, p))  # noqa: E731
    prepared: dict[str, dict] = {}
    rows = []
    for example, towards, extra, budget in CASES:
        if example not in prepared:
            put = lambda n: store.put_bytes((ROOT / "examples" / example / n).read_bytes())  # noqa: E731
            m, c, e = put("model.onnx"), put("calib.npz"), put("eval.npz")
            ref = get_stage("reference")(ctx("reference", {"model": m, "eval_data": e}, {"eval_data": {"labels": "labels"}}))
            rng = get_stage("reference")(ctx("reference", {"model": m, "calib_data": c}, {}))
            cal = get_stage("calibrate")(ctx("calibrate", {"model": m, "calib_data": c}, {"method": "minmax"}))
            prepared[example] = {"model": m, "eval_data": e, "reference": ref.outputs["reference"].sha256,
                                 "ranges": rng.outputs["ranges"].sha256, "scales": cal.outputs["scales"].sha256}
        p = prepared[example]
        policy = {"default": towards, "io": "keep", "rules": [], "safety": SAFETY, **extra}
        common = {"model": p["model"], "ranges": p["ranges"],
                  **({"scales": p["scales"]} if towards in ("int8", "fp8") else {})}
        search = get_stage("search")(ctx("search", {**common, "eval_data": p["eval_data"], "reference": p["reference"]},
                                         {"policy": policy, "budget": budget, "max_evaluations": 64,
                                          "evaluator": "torch", "eval_data": {"labels": "labels"}}))
        found = search.details
        transform = get_stage("transform")(ctx("transform", {**common, "search": search.outputs["result"].sha256}, {"policy": policy}))
        lock = transform.details["lock"]
        build = get_stage("build")(ctx("build", {"model": transform.outputs["model"].sha256}, {"backend": "torch"}))
        realized = {r["node"]: (r["realized"], r["reason"]) for r in build.details.get("explain", [])}
        evaluate = get_stage("evaluate")(ctx("evaluate", {"engine": build.outputs["engine"].sha256, "eval_data": p["eval_data"],
                                              "reference": p["reference"]},
                                             {"backend": "torch", "metrics": ["cosine"], "eval_data": {"labels": "labels"}}))
        differ = Counter(realized[r["node"]][1] or "(no reason)" for r in lock
                         if r["resolved"] != "-" and r["node"] in realized and realized[r["node"]][0] != r["resolved"])
        row = {"example": example, "towards": towards, "safety": "safety" not in extra, "budget": budget,
               "kept": found["kept"], "search_cosine": found["metrics"]["cosine"],
               "run_cosine": evaluate.metrics["cosine"],
               "lock_matches": [r["node"] for r in lock if r["reason"] == "SEARCH_FALLBACK"] == found["kept"],
               "realized_differs": dict(differ), "shares": found["shares"]}
        rows.append(row)
        print(f"{example:12s} {towards:5s} safety={row['safety']!s:5s} kept {len(row['kept']):3d}  "
              f"search {row['search_cosine']:.9f}  run {row['run_cosine']:.9f}  "
              f"|diff| {abs(row['search_cosine'] - row['run_cosine']):.1e}  lock = search {row['lock_matches']}  "
              f"realized != resolved: {row['realized_differs'] or 'none'}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
