#!/usr/bin/env bash
# bench/gpu_latency.sh: exclusive timing on a GPU without Node, through `run-stage`.
# An fp32 MLP (bench/make_mlp.py) on the torch backend: benchmarked alone, then twice
# at once from two processes (as two runners on one GPU would), with device leases
# on and then off (TRTPIPE_DEVICE_LEASE=off). Prints each result's p50, noise, lease
# and GPU state (NVML through nvidia-ml-py, else nvidia-smi), whether the two timing
# loops overlapped, and the ratio of their p50s (goal with leases: within 1.05).
#
#   bash bench/gpu_latency.sh [WIDTH] [LAYERS]      (default 2048 8)
#   BACKEND=onnxruntime bash bench/gpu_latency.sh 1024 8   (the same on a CPU: the host's cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="runner-py${PYTHONPATH:+:$PYTHONPATH}"
export TRTPIPE_LEASE_DIR=${TRTPIPE_LEASE_DIR:-$(mktemp -d)}
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
STORE=$tmp/store
BACKEND=${BACKEND:-torch}
"$PY" bench/make_mlp.py "$tmp/model" --width "${1:-2048}" --layers "${2:-8}"
stage() { "$PY" -m trtpipe_runner run-stage --store "$STORE" "$@" 2>>"$tmp/stages.log"; }
sha() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['outputs'][sys.argv[2]]['sha256'])" "$1" "$2"; }
# Every key the orchestrator sends (the runner takes no defaults: proto/trtpipe/runner/v1/contract/).
run="\"backend\": \"$BACKEND\", \"opt_level\": \"all\", \"threads\": 0"
stage build --input model="$tmp/model/model.onnx" --params "{$run, \"numerics\": \"native\", \"precision\": \"fp32\"}" --json-out "$tmp/build.json"
engine=sha256:$(sha "$tmp/build.json" engine)
data=$("$PY" -c "import sys; from pathlib import Path; from trtpipe_runner.artifacts import ArtifactStore; from trtpipe_runner.run_stage import put_copy; print(put_copy(ArtifactStore(Path(sys.argv[1])), Path(sys.argv[2])))" "$STORE" "$tmp/model/eval.npz")
params="{$run, \"eval_data\": {}, \"batches\": [1, 32], \"warmup\": 10, \"warmup_seconds\": 0.2, \"iterations\": 300, \"max_seconds\": 60, \"repeats\": 3}"
bench() { stage benchmark --input engine="$engine" --input eval_data="sha256:$data" --params "$params" --json-out "$1"; }
bench "$tmp/alone.json"
pair() {  # two benchmarks at once, from two processes
  bench "$tmp/$1.json" & local a=$!
  bench "$tmp/$2.json" & local b=$!
  wait "$a" && wait "$b"
}
pair on1 on2
TRTPIPE_DEVICE_LEASE=off pair off1 off2
echo "== leases on"
"$PY" bench/lease_report.py alone="$tmp/alone.json" first="$tmp/on1.json" second="$tmp/on2.json"
echo "== leases off (TRTPIPE_DEVICE_LEASE=off)"
"$PY" bench/lease_report.py alone="$tmp/alone.json" first="$tmp/off1.json" second="$tmp/off2.json"
