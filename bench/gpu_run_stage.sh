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
stage reference --input model=$model --input eval_data=$ex/eval.npz --params '{"eval_data": {"labels": "labels"}}' --json-out $tmp/ref.json 2>/dev/null
metrics $tmp/ref.json reference
stage transform --input model=$model --params '{"policy": {"default": "fp16"}}' --json-out $tmp/t.json 2>/dev/null
metrics $tmp/t.json transform
stage build --input model=sha256:$(sha $tmp/t.json model) --params '{"backend": "torch", "precision": "fp16"}' --json-out $tmp/b.json 2>/dev/null
metrics $tmp/b.json build
engine=sha256:$(sha $tmp/b.json engine)
stage evaluate --input engine=$engine --input eval_data=$ex/eval.npz --input reference=sha256:$(sha $tmp/ref.json reference) \
  --params '{"backend": "torch", "precision": "fp16", "eval_data": {"labels": "labels"}}' --json-out $tmp/e.json 2>/dev/null
metrics $tmp/e.json evaluate
stage benchmark --input engine=$engine --input eval_data=$ex/eval.npz \
  --params '{"backend": "torch", "precision": "fp16", "batches": [1, 64], "iterations": 200, "cuda_graph": true}' --json-out $tmp/bm.json 2>/dev/null
metrics $tmp/bm.json benchmark
