#!/usr/bin/env bash
# bench/gpu_e2e.sh: the real trtpipe CLI on a GPU host that has Python (torch, onnx, onnxruntime,
# numpy, grpcio) but no node and no network (issue 15 item 4, issue 17). Node and the npm package
# travel packed (bench/gpu_pack_node.sh, run where node is); unpacked here with Python's lzma and
# tarfile modules (no xz binary needed). Then, each step under its own time limit, every failure
# reported without stopping the rest:
#   1. trtpipe run: the digits CNN on the torch backend (fp32/fp16/bf16/int8, CUDA graphs), timed;
#      then the same command again (every stage cached: the no-op re-run), timed; then the
#      transformer with a precision search and torchvision's ResNet-50 (fp32/fp16/int8) on torch
#      (E2E_PIPELINES=0 skips these two)
#   2. bench/scale_gpu.py: 8 ResNet-50 cells on 1 GPU, then on all GPUs (one local runner per GPU)
#   3. bench/scale: 12 CPU cells over 1, 2 and 4 loopback runners with the cores split between them
#   4. bench/latency_consistency: one fp32 MLP on two targets of the one GPU, 5 runs (issue 18)
# The local runner is the host's python3 as is (TRTPIPE_PYTHON=python3; the CLI puts the runner
# wheel from the package on its PYTHONPATH); grpcio-health-checking, which such hosts lack, comes
# from the pack and is unzipped onto PYTHONPATH.
#
#   bash bench/gpu_e2e.sh [PACK_DIR]       # from the repo root; PACK_DIR default .gpu-node
#
# Output: $OUT (default bench/out/gpu-e2e): summary.txt (every figure), e2e.log (every step's full
# output), results.tar.gz (run.json files, CLI logs, runner logs). Stdout shows the summary as it
# goes. Settings: E2E_BUDGET (seconds for everything, default 210), E2E_DEVICE (cuda; cpu for a
# rehearsal on a host without GPUs, with TRTPIPE_GPUS=0,1 pretending two), E2E_MODEL (resnet50;
# digits for a quick rehearsal), E2E_WORK (scratch folder, default a new one under /tmp).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
PACK=$(cd "${1:-.gpu-node}" 2>/dev/null && pwd) || { echo "gpu_e2e: no pack folder ${1:-.gpu-node} (bash bench/gpu_pack_node.sh .gpu-node where node is)" >&2; exit 2; }
OUT=${OUT:-$REPO/bench/out/gpu-e2e}
WORK=${E2E_WORK:-$(mktemp -d /tmp/trtpipe-e2e.XXXXXX)}
DEVICE=${E2E_DEVICE:-cuda}
MODEL=${E2E_MODEL:-resnet50}
BUDGET=${E2E_BUDGET:-210}
mkdir -p "$OUT" "$WORK"
SUMMARY=$OUT/summary.txt
LOG=$OUT/e2e.log
: >"$SUMMARY"
: >"$LOG"
T0=$(date +%s)
FAILED=0

say() { echo "$*" | tee -a "$SUMMARY"; }
elapsed() { echo $(( $(date +%s) - T0 )); }

# step NAME MAX_SECONDS CMD...: runs CMD (a command or an exported function) with its output in the
# log, under min(MAX, what the budget leaves); says how long it took and how it ended. Returns CMD's
# exit status.
step() {
  local name=$1 max=$2
  shift 2
  local left=$(( BUDGET - $(elapsed) ))
  local limit=$(( max < left ? max : left ))
  if (( limit < 5 )); then
    say "[$(elapsed)s] $name: SKIPPED (the ${BUDGET}s budget is spent)"
    FAILED=1
    return 124
  fi
  echo "===== $name (limit ${limit}s) =====" >>"$LOG"
  local s rc from
  from=$(wc -l <"$LOG")
  s=$(date +%s.%N)
  timeout -k 5 "$limit" bash -c '"$@"' _ "$@" >>"$LOG" 2>&1
  rc=$?
  local secs
  secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$s" "$(date +%s.%N)")
  if (( rc == 0 )); then
    say "[$(elapsed)s] $name: ok in ${secs} s"
  else
    local why="exit $rc"
    (( rc == 124 || rc == 137 )) && why="TIMED OUT after ${limit}s"
    say "[$(elapsed)s] $name: FAILED ($why) after ${secs} s; last lines:"
    tail -n +"$((from + 1))" "$LOG" | tail -n 15 | sed 's/^/    /' | tee -a "$SUMMARY"
    FAILED=1
  fi
  return $rc
}

say "gpu_e2e: $(date -u +%FT%TZ) on $(hostname), $(nproc) cores, device $DEVICE, budget ${BUDGET}s, work $WORK"
if [ "$DEVICE" = cuda ]; then
  say "GPUs: $(nvidia-smi --query-gpu=index,name --format=csv,noheader 2>/dev/null | tr '\n' ';' || echo 'nvidia-smi failed')"
fi

# ---- unpack node, the package and (if needed) grpcio-health-checking -------------------------
unpack() {
  python3 - "$PACK" "$WORK" <<'PY'
import glob, lzma, os, shutil, sys, tarfile, zipfile
pack, work = sys.argv[1], sys.argv[2]
os.makedirs(f"{work}/bin", exist_ok=True)
with lzma.open(f"{pack}/node.xz") as src, open(f"{work}/bin/node", "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
os.chmod(f"{work}/bin/node", 0o755)
with tarfile.open(f"{pack}/trtpipe-pkg.tar.xz", "r:xz") as tar:
    try:
        tar.extractall(work, filter="tar")
    except TypeError:  # Python without extraction filters
        tar.extractall(work)
# bench/scale beside the package's dist/src (it imports ../src and ../test/helpers), with the
# repo's examples where its helpers look for them (the package root).
root = f"{work}/pkg/node_modules/trtpipe"
if os.path.exists(f"{pack}/bench-scale.tar.xz"):
    with tarfile.open(f"{pack}/bench-scale.tar.xz", "r:xz") as tar:
        tar.extractall(root)
    os.makedirs(f"{root}/examples", exist_ok=True)  # the package carries examples/ci only
    for name in ("transformer", "digits"):
        if not os.path.exists(f"{root}/examples/{name}"):
            os.symlink(os.path.abspath(f"examples/{name}"), f"{root}/examples/{name}")
try:
    import grpc_health.v1.health  # noqa: F401
    print("grpc_health: the host's")
except ImportError:
    wheels = sorted(glob.glob(f"{pack}/grpcio_health_checking-*.whl"))
    if not wheels:
        sys.exit("grpc_health is missing here and the pack has no grpcio_health_checking wheel")
    zipfile.ZipFile(wheels[-1]).extractall(f"{work}/pylib")
    print("grpc_health: unzipped", os.path.basename(wheels[-1]))
PY
}
export PACK WORK
export -f unpack
step unpack 60 unpack
export PATH="$WORK/bin:$PATH"
export PYTHONPATH="$WORK/pylib${PYTHONPATH:+:$PYTHONPATH}"
export TRTPIPE_PYTHON=python3
export TRTPIPE_CACHE_DIR="$WORK/cache"
TRTPIPE="$WORK/pkg/node_modules/.bin/trtpipe"
if ! node --version >/dev/null 2>&1; then
  # A host without libstdc++ in the loader's path: borrow one a Python package carries.
  for d in $(python3 -c "import glob, os, site; print(' '.join(sorted({os.path.dirname(f) for p in site.getsitepackages() for f in glob.glob(p + '/**/libstdc++.so.6', recursive=True)})))" 2>/dev/null); do
    export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    node --version >/dev/null 2>&1 && break
  done
fi
say "node: $(command -v node) $(node --version 2>&1 | head -1); trtpipe: $("$TRTPIPE" --version 2>&1 | head -1)"
step "runner imports (host python3 + pack)" 30 python3 -c "import sys, grpc, google.protobuf, grpc_health.v1.health, onnx, onnxruntime, numpy, torch; print(sys.version.split()[0], 'grpcio', grpc.__version__, 'protobuf', google.protobuf.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.device_count())"

# ResNet-50 is exported (CPU work) while the digits pipeline runs.
if [ "$MODEL" = resnet50 ]; then
  ( timeout 150 python3 bench/gpu_export_models.py "$WORK/models" resnet50 >"$WORK/export.log" 2>&1; echo $? >"$WORK/export.rc" ) &
  EXPORT_PID=$!
fi

# ---- 1. trtpipe run: digits on the torch backend, then the no-op re-run ---------------------
build_settings="cuda_graph: true"
[ "$DEVICE" = cpu ] && build_settings="device: cpu"
cat >"$WORK/digits-torch.yaml" <<EOF
# pipelines/digits-torch.yaml with fewer timed iterations (the e2e's time budget)
version: 1
name: digits-torch
model: { path: $REPO/examples/digits/model.onnx }
data:
  calibration: { npz: $REPO/examples/digits/calib.npz }
  evaluation: { npz: $REPO/examples/digits/eval.npz, labels: labels }
precision: { default: fp16, io: keep, opset: 22 }
calibration: { method: minmax }
targets:
  - { name: gpu, runner: local, backend: torch, build: { $build_settings } }
matrix:
  precision: [fp32, fp16, bf16, int8]
benchmark: { batch: [1, 64], warmup: 10, iterations: 50 }
EOF
# pipeline NAME TAG: `trtpipe run $WORK/NAME.yaml` with its own state folder; output in NAME-TAG.out.
pipeline() { "$TRTPIPE" run "$WORK/$1.yaml" --state-dir "$WORK/state-$1" >"$WORK/$1-$2.out" 2>&1; local rc=$?; cat "$WORK/$1-$2.out"; return $rc; }
export TRTPIPE
export -f pipeline
if step "trtpipe run digits-torch" 120 pipeline digits-torch first; then
  grep -A8 '^cell ' "$WORK/digits-torch-first.out" | tee -a "$SUMMARY"
fi
if step "trtpipe run digits-torch again (no-op re-run)" 45 pipeline digits-torch again; then
  say "    re-run: $(grep -c '(cached)$' "$WORK/digits-torch-again.out") of $(grep -oE '[0-9]+ stages' "$WORK/digits-torch-again.out" | head -1) cached; $(grep -E '^runners ready' "$WORK/digits-torch-again.out" | head -1)"
fi

# ---- 1b. trtpipe run: the transformer with a search on the torch backend ----------------------
cat >"$WORK/transformer-search-torch.yaml" <<EOF
# pipelines/transformer-search.yaml on the torch backend (the search evaluates on the GPU)
version: 1
name: transformer-search-torch
model: { path: $REPO/examples/transformer/model.onnx }
data:
  calibration: { npz: $REPO/examples/transformer/calib.npz }
  evaluation: { npz: $REPO/examples/transformer/eval.npz, labels: labels }
precision:
  default: bf16
  search: { towards: bf16, budget: { cosine: 0.99999 }, max_evaluations: 64 }
targets:
  - { name: gpu, runner: local, backend: torch, build: { $build_settings } }
matrix:
  precision: [fp32, bf16]
benchmark: { batch: [1], warmup: 10, iterations: 50 }
EOF
if [ "${E2E_PIPELINES:-1}" = 1 ] && step "trtpipe run transformer-search on torch" 90 pipeline transformer-search-torch first; then
  grep -A3 '^cell ' "$WORK/transformer-search-torch-first.out" | tee -a "$SUMMARY"
fi

# ---- 2. bench/scale_gpu: 8 cells on 1 GPU, then on all --------------------------------------
if [ "$MODEL" = resnet50 ]; then
  wait "$EXPORT_PID"
  if [ "$(cat "$WORK/export.rc" 2>/dev/null)" = 0 ]; then
    say "[$(elapsed)s] ResNet-50 exported ($(tail -n 1 "$WORK/export.log"))"
  else
    say "[$(elapsed)s] ResNet-50 export FAILED (rc $(cat "$WORK/export.rc" 2>/dev/null)):"
    tail -n 15 "$WORK/export.log" | sed 's/^/    /' | tee -a "$SUMMARY"
    FAILED=1
  fi
fi
# ResNet-50 (exported above) through the CLI on the torch backend
if [ "$MODEL" = resnet50 ] && [ "${E2E_PIPELINES:-1}" = 1 ] && [ -s "$WORK/models/resnet50/model.onnx" ]; then
  cat >"$WORK/resnet50-torch.yaml" <<EOF
# torchvision ResNet-50 (random weights) on the torch backend: fp32, fp16 and int8 at batch 1 and 64
version: 1
name: resnet50-torch
model: { path: $WORK/models/resnet50/model.onnx }
data:
  calibration: { npz: $WORK/models/resnet50/calib.npz }
  evaluation: { npz: $WORK/models/resnet50/eval.npz }
precision: { default: fp16, io: keep }
calibration: { method: minmax }
targets:
  - { name: gpu, runner: local, backend: torch, build: { $build_settings } }
matrix:
  precision: [fp32, fp16, int8]
benchmark: { batch: [1, 64], warmup: 10, iterations: 50 }
EOF
  if step "trtpipe run resnet50-torch" 150 pipeline resnet50-torch first; then
    grep -A5 '^cell ' "$WORK/resnet50-torch-first.out" | tee -a "$SUMMARY"
  fi
fi
if [ "$DEVICE" = cuda ] && [ -z "${TRTPIPE_GPUS:-}" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  # `gpus: all` asks nvidia-smi; without it, name the GPUs torch sees.
  TRTPIPE_GPUS=$(python3 -c "import torch; print(','.join(map(str, range(torch.cuda.device_count()))))" 2>/dev/null)
  export TRTPIPE_GPUS
  say "no nvidia-smi here: TRTPIPE_GPUS=$TRTPIPE_GPUS (from torch)"
fi
scale() { python3 bench/scale_gpu.py --trtpipe "$TRTPIPE" --work "$WORK/scale" --models-dir "$WORK/models" --model "$MODEL" --device "$DEVICE" --iterations 20 --timeout 150 >"$WORK/scale.out" 2>&1; local rc=$?; cat "$WORK/scale.out"; return $rc; }
export MODEL DEVICE
export -f scale
ngpus=$(python3 -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
if [[ $DEVICE == cuda* && ${ngpus:-0} -lt 2 && -z ${TRTPIPE_GPUS:-} ]]; then
  say "bench/scale_gpu: skipped, this host has ${ngpus:-0} GPU(s) (1 GPU against all needs two or more)"
else
  step "bench/scale_gpu (1 GPU, then all)" 240 scale
  grep -E '^(bench/scale_gpu|\s+1 GPU|\s*all GPUs|\s+each runner|speed-up|exported)' "$WORK/scale.out" 2>/dev/null | sed 's/^/    /' | tee -a "$SUMMARY"
fi

# ---- 3. bench/scale: the scheduler over CPU runners ------------------------------------------
scale_cpu() { node "$WORK/pkg/node_modules/trtpipe/dist/bench/scale.js" >"$WORK/scale-cpu.out" 2>&1; local rc=$?; cat "$WORK/scale-cpu.out"; return $rc; }
export -f scale_cpu
step "bench/scale (CPU runners 1, 2, 4)" 90 scale_cpu
grep -E "^(bench/scale|\s+[0-9]+ runner|\s+runners')" "$WORK/scale-cpu.out" 2>/dev/null | sed 's/^/    /' | tee -a "$SUMMARY"

# ---- 4. bench/latency_consistency: one graph, two targets, one GPU (issue 18) ----------------
consistency() {
  python3 bench/make_mlp.py "$WORK/mlp" >/dev/null &&
    node "$WORK/pkg/node_modules/trtpipe/dist/bench/latency_consistency.js" --backend "$([ "$DEVICE" = cpu ] && echo onnxruntime || echo torch)" --runs 5 --batch 1,32 \
      --model "$WORK/mlp/model.onnx" --data "$WORK/mlp/eval.npz" >"$WORK/consistency.out" 2>&1
  local rc=$?; cat "$WORK/consistency.out"; return $rc
}
export -f consistency
if [ -s "$WORK/pkg/node_modules/trtpipe/dist/bench/latency_consistency.js" ]; then
  step "bench/latency_consistency (torch, batch 1 and 32, 5 runs)" 150 consistency
  grep -E '^batch [0-9]+:' "$WORK/consistency.out" 2>/dev/null | sed 's/^/    /' | tee -a "$SUMMARY"
fi

# ---- results ----------------------------------------------------------------------------------
(cd "$WORK" && find . \( -name run.json -o -name '*.out' -o -name '*.log' -o -name '*.yaml' \) -size -20M -print0 \
  | tar --null -czf "$OUT/results.tar.gz" -T - 2>/dev/null)
say "[$(elapsed)s] gpu_e2e done: $([ $FAILED = 0 ] && echo 'every step ok' || echo 'SOME STEPS FAILED (see above and e2e.log)'); files in $OUT"
exit $FAILED
