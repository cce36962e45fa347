"""bench/scale_gpu: a matrix of 8 GPU cells run by the real CLI on 1 GPU, then on all GPUs (issue 17).

    python3 bench/scale_gpu.py --trtpipe "node PKG/bin/trtpipe.js" --work DIR [--model resnet50]

The matrix: ResNet-50 (torchvision, random weights, bench/gpu_export_models.py) on the torch
backend, fp32/fp16/bf16/int8 x two targets (CUDA-graph replay on and off) = 8 cells, each a
build, an evaluation against the fp32 reference and a short benchmark. Both targets name the
same GPUs (`gpus: [0]`, then `gpus: all`): one local runner per GPU, the cells spread over them.
Prints per run the wall time, the matrix phase (first cell stage started to last finished, from
the CLI's --verbose progress), the runners' start time and the stages per runner; then the
speed-up, and whether every cell's accuracy metrics are identical across the two runs.

--model digits runs the same on the small digits CNN (seconds; for a rehearsal on a CPU host with
--device cpu and TRTPIPE_GPUS=0,1 pretending two GPUs). Exit code 0 when both runs succeeded.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRECISIONS = ["fp32", "fp16", "bf16", "int8"]
STAMP = re.compile(r"^\[\s*([0-9.]+)s\]\s+(\S+)\s+(started|done in)")


def model_files(args) -> tuple[Path, str]:
    """The model folder (model.onnx, calib.npz, eval.npz) and the evaluation data's labels line."""
    if args.model == "digits":
        return REPO / "examples" / "digits", ", labels: labels"
    folder = Path(args.models_dir) / "resnet50"
    if not (folder / "model.onnx").is_file():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "bench" / "gpu_export_models.py"), args.models_dir, "resnet50"], check=True)
        print(f"exported ResNet-50 in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder, ""


def pipeline(folder: Path, labels: str, gpus: str, args) -> str:
    device = "device: cpu" if args.device == "cpu" else ""
    targets = []
    for name, replay in (("replay", True), ("eager", False)):
        build = ", ".join(x for x in (device, "" if args.device == "cpu" else f"cuda_graph: {str(replay).lower()}") if x)
        targets.append(f"  - {{ name: {name}, runner: local, gpus: {gpus}, backend: torch, build: {{ {build} }} }}")
    return f"""version: 1
name: scale-gpu
model: {{ path: {folder / 'model.onnx'} }}
data:
  calibration: {{ npz: {folder / 'calib.npz'} }}
  evaluation: {{ npz: {folder / 'eval.npz'}{labels} }}
precision: {{ default: fp16, io: keep, opset: 22 }}
calibration: {{ method: minmax }}
targets:
{chr(10).join(targets)}
matrix: {{ precision: [{', '.join(PRECISIONS)}] }}
benchmark: {{ batch: [{args.batch}], warmup: 5, iterations: {args.iterations} }}
"""


def run(label: str, gpus: str, folder: Path, labels: str, args) -> dict | None:
    work = Path(args.work) / label
    work.mkdir(parents=True, exist_ok=True)
    file = work / "scale-gpu.yaml"
    file.write_text(pipeline(folder, labels, gpus, args))
    state = work / "state"
    cmd = shlex.split(args.trtpipe) + ["run", str(file), "--state-dir", str(state), "--no-cache", "--verbose"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - t0
    (work / "cli.log").write_text(proc.stdout + proc.stderr)
    runs = sorted((state / "runs").glob("*/run.json")) if (state / "runs").is_dir() else []
    if proc.returncode != 0 or not runs:
        print(f"{label}: trtpipe run failed (exit {proc.returncode}) after {wall:.1f} s; its last output:")
        print("\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:]))
        return None
    record = json.loads(runs[-1].read_text())
    # The matrix phase: from the first per-cell stage started to the last stage finished.
    starts, ends = [], []
    for line in proc.stdout.splitlines():
        m = STAMP.match(line)
        if m and m.group(2).split("@")[0] in ("build", "evaluate", "benchmark"):
            (starts if m.group(3) == "started" else ends).append(float(m.group(1)))
    matrix = max(ends) - min(starts) if starts and ends else float("nan")
    per_runner = Counter(s.get("runner", "?") for s in record["stages"].values() if s.get("status") == "done")
    accuracy = {c["id"]: c.get("accuracy", {}) for c in record["cells"]}
    ok = sum(c["status"] == "ok" for c in record["cells"])
    print(f"{label:>9}: wall {wall:6.1f} s   matrix phase {matrix:6.1f} s   runner start {record['timings']['runnerStartSeconds']:5.1f} s   "
          f"cells ok {ok}/{len(record['cells'])}   stages per runner: {dict(sorted(per_runner.items()))}", flush=True)
    gpus_seen = {addr: [g.get("name", "?") + f" (index {g.get('index', '?')})" for g in caps]
                 for addr, caps in (record["runners"][record["cells"][0]["target"]].get("gpusByRunner") or {}).items()}
    if gpus_seen:
        print(f"{'':>9}  each runner's GPUs (capabilities): {gpus_seen}")
    return {"wall": wall, "matrix": matrix, "accuracy": accuracy, "ok": ok == len(record["cells"])}


def compare(a: dict, b: dict) -> tuple[bool, str]:
    """Whether every cell's accuracy metrics are bit-identical; else the largest difference."""
    worst, where = 0.0, ""
    for cell, metrics in a.items():
        for k, v in metrics.items():
            w = b.get(cell, {}).get(k)
            if w is None or (isinstance(v, float) and math.isnan(v) and math.isnan(w)):
                continue
            if w != v and abs(w - v) >= worst:
                worst, where = abs(w - v), f"{cell} {k}: {v!r} vs {w!r}"
    same = set(a) == set(b) and not where
    return same, "identical" if same else f"NOT identical (largest difference {worst:.3g}: {where})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trtpipe", default="trtpipe", help="the CLI command (default: trtpipe on PATH)")
    ap.add_argument("--work", required=True, help="folder for pipelines, state and logs")
    ap.add_argument("--model", choices=["resnet50", "digits"], default="resnet50")
    ap.add_argument("--models-dir", default=None, help="where ResNet-50 is (exported there if missing; default WORK/models)")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: a rehearsal on a host without GPUs")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per trtpipe run")
    args = ap.parse_args()
    args.models_dir = args.models_dir or str(Path(args.work) / "models")
    folder, labels = model_files(args)
    print(f"bench/scale_gpu: {args.model}, {len(PRECISIONS)} precisions x 2 targets (graph replay on/off) = 8 cells, torch on {args.device}", flush=True)
    one = run("1 GPU", "[0]", folder, labels, args)
    every = run("all GPUs", "all", folder, labels, args)
    if not one or not every:
        return 1
    same, how = compare(one["accuracy"], every["accuracy"])
    print(f"speed-up (all GPUs vs 1): wall {one['wall'] / every['wall']:.2f}x, matrix phase {one['matrix'] / every['matrix']:.2f}x; "
          f"accuracy metrics of the 8 cells across the two runs: {how}")
    return 0 if one["ok"] and every["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
