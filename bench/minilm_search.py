#!/usr/bin/env python3
"""bench/minilm_search: the precision search towards int8 on all-MiniLM-L6-v2 (issue 12 item 3, issue 22).

    .venv/bin/python bench/minilm_search.py [--evaluator onnxruntime|torch|auto] [--ranking impact,topological]
                                            [--json out.json]

Runs the stages `trtpipe search pipelines/minilm.yaml` would run with `precision.search: { towards: int8,
budget: { cosine: 0.999 } }`, in this process (no Node.js): reference, ranges, calibrate (minmax,
SmoothQuant alpha 0.8, as pipelines/minilm.yaml), then the search once per ranking (impact: the ranked
search; topological: the bisection it replaced), each with an empty candidate cache. Prints the kept
nodes, the evaluations, the search's wall time (and the time of its localization pass), and the
final cosine; `--json` writes them.

On a GPU host without the example's weights (it has no network and carries at most 64 MiB), pack
the model here first and carry the pack:
    .venv/bin/python bench/minilm_search.py --pack bench/out/minilm-w16.onnx    # 44 MiB: fp16 weights
    # on the GPU host (torch evaluator, both rankings; about 2 minutes with start-up):
    python3 bench/minilm_search.py --model bench/out/minilm-w16.onnx --evaluator torch
The pack stores the weights in fp16 and the bench widens them back to fp32 when it loads them: the
same graph with weights rounded to fp16 (its embeddings differ from the real model's by a cosine
of about 1 - 1e-6, printed by --pack), so the figures are representative, not identical.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "runner-py"))  # trtpipe_runner, and tests.stage_params: the params a pipeline sends
EXAMPLE = ROOT / "examples" / "minilm"
BUDGET = {"cosine": 0.999}
SMOOTHING = {"alpha": 0.8}
CALIBRATION = {"method": "minmax", "percentile": 99.99, "per_channel": True, "smoothing": SMOOTHING}


def pack(model_path: Path, out: Path) -> None:
    """Writes the model with every fp32 initializer stored in fp16 (half the size)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_path))
    for init in model.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and numpy_helper.to_array(init).size > 1:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
            init.doc_string = "trtpipe-bench:fp32"
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    with tempfile.TemporaryDirectory() as tmp:
        a, b = embed(model_path), embed(unpack(out, Path(tmp)))
    cos = float(((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).mean())
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB); embedding cosine to the real model {cos:.8f}")


def unpack(path: Path, tmp: Path) -> Path:
    """A packed model widened back to fp32 initializers, in a temporary file (an unpacked one as it is)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    packed = [i for i in model.graph.initializer if i.doc_string == "trtpipe-bench:fp32"]
    if not packed:
        return path
    for init in packed:
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32), init.name))
    out = tmp / "unpacked.onnx"
    onnx.save(model, str(out))
    return out


def embed(path: Path) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    data = dict(np.load(EXAMPLE / "eval.npz"))
    return np.concatenate([sess.run(None, {k: v[i:i + 64] for k, v in data.items()})[0] for i in range(0, 256, 64)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=EXAMPLE / "model.onnx")
    ap.add_argument("--evaluator", default="onnxruntime", choices=("onnxruntime", "torch", "auto"))
    ap.add_argument("--max-evaluations", type=int, default=64)
    ap.add_argument("--ranking", default="impact,topological",
                    help="search rankings to run, in turn: impact (the ranked search), topological (the bisection before it)")
    ap.add_argument("--pack", type=Path, help="write a 44 MiB fp16-weights copy of the model for a GPU host; exit")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not args.model.is_file():
        sys.exit(f"{args.model} is missing: run `npm run setup` (examples/minilm/export.py), or pass --model")
    if args.pack:
        pack(args.model, args.pack)
        return
    with tempfile.TemporaryDirectory(prefix="minilm-search-") as tmp:
        rows = run(args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


def run(args, tmp: Path) -> list[dict]:
    from tests.stage_params import complete
    from trtpipe_runner.artifacts import ArtifactStore
    from trtpipe_runner.cancel import CancelToken
    from trtpipe_runner.stages import get_stage, parse_stage_params
    from trtpipe_runner.stages.context import StageContext

    store = ArtifactStore(tmp / "store")
    model = store.put_bytes(unpack(args.model, tmp).read_bytes())
    calib = store.put_bytes((EXAMPLE / "calib.npz").read_bytes())
    evald = store.put_bytes((EXAMPLE / "eval.npz").read_bytes())

    def ctx(stage, inputs, params):
        # The params `trtpipe search` sends (the contract's, checked), the defaults of a pipeline that sets nothing else.
        return StageContext(store, CancelToken(), inputs, parse_stage_params(stage, complete(stage, params)),
                            emit=lambda kind, payload: print(f"  [{kind}] {payload[1]}", file=sys.stderr)
                            if kind == "log" else None)

    t0 = time.perf_counter()
    ref = get_stage("reference")(ctx("reference", {"model": model, "eval_data": evald}, {"batch": 32, "eval_data": {}}))
    ranges = get_stage("reference")(ctx("reference", {"model": model, "calib_data": calib}, {"batch": 32, "calib_data": {}}))
    scales = get_stage("calibrate")(ctx("calibrate", {"model": model, "calib_data": calib}, {"batch": 32, "method": "minmax",
                                                                                             "smoothing": SMOOTHING}))
    setup = time.perf_counter() - t0
    inputs = {"model": model, "eval_data": evald, "reference": ref.outputs["reference"].sha256,
              "ranges": ranges.outputs["ranges"].sha256, "scales": scales.outputs["scales"].sha256}
    rows = []
    for ranking in args.ranking.split(","):
        shutil.rmtree(store.root / "search-cache", ignore_errors=True)  # every candidate evaluated anew
        params = {"policy": {"default": "int8"}, "budget": BUDGET, "max_evaluations": args.max_evaluations,
                  "evaluator": args.evaluator, "batch": 32, "calibration": CALIBRATION, "ranking": ranking}
        t0 = time.perf_counter()
        d = get_stage("search")(ctx("search", inputs, params)).details
        wall = time.perf_counter() - t0
        row = {"ranking": ranking, "evaluator": d["evaluator"], "strategy": d.get("strategy"), "candidates": d["candidates"],
               "kept": len(d["kept"]), "kept_nodes": d["kept"], "evaluations": d["evaluations"], "exhausted": d["exhausted"],
               "at_least": d.get("at_least"), "search_seconds": round(wall, 1),
               "localize_seconds": d.get("localize", {}).get("seconds"), "setup_seconds": round(setup, 1),
               "blanket_cosine": d["blanket_metrics"].get("cosine"), "final_cosine": d["metrics"].get("cosine"),
               "trace": d["trace"]}
        rows.append(row)
        print(f"minilm int8 search ({row['evaluator']}, ranking {ranking}): {row['kept']} of {row['candidates']} kept, "
              f"{row['evaluations']} evaluations{' (cap hit)' if row['exhausted'] else ''}, {row['search_seconds']} s "
              f"(localization {row['localize_seconds']} s; stages before it {row['setup_seconds']} s); "
              f"cosine {row['blanket_cosine']:.6f} blanket -> {row['final_cosine']:.6f}", flush=True)
        for n in d["kept"]:
            print(f"  kept {n}")
    return rows


if __name__ == "__main__":
    main()
