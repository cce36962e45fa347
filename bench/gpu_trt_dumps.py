"""Real TensorRT engine dumps for trtpipe's inspector fixtures, through trtpipe's own stages.

    python3 bench/gpu_trt_dumps.py OUT_DIR MODELS_DIR [--backend tensorrt] [--only NAME...]

For each case (model x policy) it runs calibrate (int8) / reference ranges (safety rules) ->
transform -> build with the given backend, and writes to OUT_DIR/<case>/:
  graph.onnx     the annotated model the engine was built from, weights stripped (external data
                 dropped: load with onnx.load(path, load_external_data=False))
  layers.json    the engine inspector's JSON (DETAILED), as the build stored it (tensorrt only)
  settings.json  the build sidecar (version, flags, profile)
  explain.json   what the current code's explain made of it, and the lock rows
  build.json     build wall time, stage metrics and details
MODELS_DIR holds resnet50/ and bert/ from bench/gpu_export_models.py; the shipped examples are
read from examples/. `--backend onnxruntime` dry-runs the flow on a CPU machine.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "runner-py"))

import onnx  # noqa: E402

from trtpipe_runner.artifacts import ArtifactStore  # noqa: E402
from trtpipe_runner.cancel import CancelToken  # noqa: E402
from trtpipe_runner.stages import build_stage, calibrate_stage, reference_stage, transform_stage  # noqa: E402
from trtpipe_runner.stages.context import StageContext  # noqa: E402

ISLANDS = [{"match": {"op": ["LayerNormalization", "Softmax", "ReduceMean", "Pow", "Sqrt", "Div"]}, "use": "fp32",
            "why": "numerically sensitive"}]
# name -> (model dir, policy, needs ranges, needs scales, max batch)
CASES = {
    "digits-fp32": ("examples/digits", {"default": "fp32"}, False, False, 32),
    "digits-fp16": ("examples/digits", {"default": "fp16"}, False, False, 32),
    "digits-int8": ("examples/digits", {"default": "int8"}, False, True, 32),
    "transformer-fp16-islands": ("examples/transformer", {"default": "fp16", "rules": [
        {"match": {"op": ["LayerNormalization", "Softmax"]}, "use": "fp32"}]}, False, False, 32),
    "transformer-int8": ("examples/transformer", {"default": "int8"}, False, True, 32),
    "overflow-fp16-safety": ("examples/overflow", {"default": "fp16", "safety": {"data_max": 512}}, True, False, 32),
    "resnet50-fp32": ("resnet50", {"default": "fp32"}, False, False, 32),
    "resnet50-fp16": ("resnet50", {"default": "fp16"}, False, False, 32),
    "resnet50-int8": ("resnet50", {"default": "int8"}, False, True, 32),
    "bert-fp16": ("bert", {"default": "fp16"}, False, False, 32),
    "bert-fp16-islands": ("bert", {"default": "fp16", "rules": ISLANDS}, False, False, 32),
    "bert-int8": ("bert", {"default": "int8"}, False, True, 32),
}


def model_dir(where: str, models: Path) -> Path:
    return ROOT / where if where.startswith("examples/") else models / where


def run(stage, store, inputs, params):
    ctx = StageContext(store, CancelToken(), inputs, params)
    try:
        return stage.run(ctx)
    finally:
        ctx.cleanup()


def one_case(name: str, out: Path, models: Path, store: ArtifactStore, backend: str, timing: Path) -> dict:
    where, policy, ranges, scales, max_batch = CASES[name]
    d = model_dir(where, models)
    model = store.put_file(_copy(d / "model.onnx", store))
    inputs = {"model": model}
    if ranges:
        r = run(reference_stage, store, {"model": model, "calib_data": store.put_file(_copy(d / "calib.npz", store))},
                {"batch": 16})
        inputs["ranges"] = r.outputs["ranges"].sha256
    if scales:
        t = time.perf_counter()
        c = run(calibrate_stage, store, {"model": model, "calib_data": store.put_file(_copy(d / "calib.npz", store))},
                {"batch": 16, "method": "minmax"})
        print(f"  calibrate (minmax) {time.perf_counter() - t:.1f} s", flush=True)
        inputs["scales"] = c.outputs["scales"].sha256
    tr = run(transform_stage, store, inputs, {"policy": {"io": "keep", **policy}})
    annotated = store.require(tr.outputs["model"].sha256)
    precision = policy["default"]
    t = time.perf_counter()
    b = run(build_stage, store, {"model": tr.outputs["model"].sha256},
            {"backend": backend, "precision": precision, "max_batch": max_batch, "lock": tr.details["lock"],
             "timing_cache_dir": str(timing)})
    wall = time.perf_counter() - t
    case = out / name
    case.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(str(annotated))
    for init in graph.graph.initializer:  # structure only: names, types and shapes stay, bytes go
        init.ClearField("raw_data")
        for f in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
            init.ClearField(f)
    onnx.save(graph, str(case / "graph.onnx"))
    engine = store.require(b.outputs["engine"].sha256)
    if backend == "tensorrt":
        import zipfile

        with zipfile.ZipFile(engine) as z:
            for member in ("layers.json", "settings.json"):
                if member in z.namelist():
                    (case / member).write_bytes(z.read(member))
    (case / "explain.json").write_text(json.dumps({"explain": b.details.get("explain"),
                                                   "summary": b.details.get("explain_summary"),
                                                   "realized_counts": b.details.get("realized_counts"),
                                                   "lock": tr.details["lock"]}, indent=1))
    details = {k: v for k, v in b.details.items() if k not in ("explain",)}
    (case / "build.json").write_text(json.dumps({"wall_s": wall, "metrics": b.metrics, "details": details},
                                                indent=1, default=str))
    counts = b.details.get("realized_counts")
    print(f"  build {wall:.1f} s, engine {b.metrics.get('engine_bytes', 0) / 1e6:.1f} MB, realized {counts}",
          flush=True)
    return {"wall_s": wall, "realized": counts}


def _copy(path: Path, store: ArtifactStore) -> Path:
    tmp = store.scratch_dir() / path.name
    shutil.copy(path, tmp)
    return tmp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("models", type=Path)
    ap.add_argument("--backend", default="tensorrt")
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    store = ArtifactStore(a.out.parent / (a.out.name + "-store"))
    summary, failed = {}, 0
    for name in a.only or CASES:
        print(f"== {name}", flush=True)
        try:
            summary[name] = one_case(name, a.out, a.models, store, a.backend, store.root / "timing")  # inside the store, as the build requires
        except Exception as exc:  # noqa: BLE001 - one failing case must not hide the others
            failed += 1
            summary[name] = {"error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
