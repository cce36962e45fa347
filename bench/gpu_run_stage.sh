#!/usr/bin/env bash
# bench/gpu_run_stage.sh: a pipeline's stages on a bare GPU host, without Node,
# through `python -m trtpipe_runner run-stage`: the digits CNN in fp16 on the
# torch backend (reference, transform, build, evaluate, benchmark with CUDA
# graphs). Prints each stage's metrics. Needs torch with CUDA.
# EXTERNAL=1 first saves the model with every weight in an external data file
# (model.onnx + weights.bin): the stages must then print the same metrics.
#
#   bash bench/gpu_run_stage.sh [STORE_DIR]
#   EXTERNAL=1 bash bench/gpu_run_stage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="runner-py${PYTHONPATH:+:$PYTHONPATH}"
STORE=${1:-$(mktemp -d)}
PY=${PYTHON:-python3}
ex=examples/digits
stage() { "$PY" -m trtpipe_runner run-stage --store "$STORE" "$@"; }
sha() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['outputs'][sys.argv[2]]['sha256'])" "$1" "$2"; }
metrics() { "$PY" -c "import json,sys; m=json.load(open(sys.argv[1]))['metrics']; print(sys.argv[2], {k: round(v, 6) for k, v in m.items() if not k.endswith('iterations')})" "$1" "$2"; }
tmp=$(mktemp -d)
model=$ex/model.onnx
if [ "${EXTERNAL:-0}" = 1 ]; then
  mkdir -p $tmp/external
  "$PY" -c "import onnx, sys; onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True, location='weights.bin', size_threshold=0)" $model $tmp/external/model.onnx
  model=$tmp/external/model.onnx
  echo "model with external data: $(ls $tmp/external)"
fi
# Every key the orchestrator sends (the runner takes no defaults: proto/trtpipe/runner/v1/contract/).
torch='"backend": "torch", "opt_level": "all", "threads": 0'
labels='"eval_data": {"labels": "labels"}'
stage reference --input model=$model --input eval_data=$ex/eval.npz --params "{\"batch\": 32, $labels}" --json-out $tmp/ref.json 2>/dev/null
metrics $tmp/ref.json reference
stage transform --input model=$model --params '{"policy": {"default": "fp16", "io": "keep", "rules": [], "safety": {"data_max": 512, "init_max": 65504, "reduction_depth": null}}, "calibration": {"method": "entropy", "percentile": 99.99, "per_channel": true}}' --json-out $tmp/t.json 2>/dev/null
metrics $tmp/t.json transform
stage build --input model=sha256:$(sha $tmp/t.json model) --params "{$torch, \"numerics\": \"native\", \"precision\": \"fp16\"}" --json-out $tmp/b.json 2>/dev/null
metrics $tmp/b.json build
engine=sha256:$(sha $tmp/b.json engine)
stage evaluate --input engine=$engine --input eval_data=$ex/eval.npz --input reference=sha256:$(sha $tmp/ref.json reference) \
  --params "{$torch, \"batch\": 32, $labels, \"metrics\": [\"cosine\", \"max_abs\", \"top1_agreement\", \"top1\"]}" --json-out $tmp/e.json 2>/dev/null
metrics $tmp/e.json evaluate
stage benchmark --input engine=$engine --input eval_data=$ex/eval.npz \
  --params "{$torch, \"eval_data\": {}, \"batches\": [1, 64], \"warmup\": 10, \"warmup_seconds\": 0.2, \"iterations\": 200, \"max_seconds\": 60, \"cuda_graph\": true}" --json-out $tmp/bm.json 2>/dev/null
metrics $tmp/bm.json benchmark
