#!/usr/bin/env bash
# bench/gpu_tensorrt.sh: TensorRT on a GPU host (issue 23): the backend's GPU tests, then engine
# figures through trtpipe's own stages (bench/gpu_tensorrt.py: ResNet-50 and BERT-base in
# fp32/fp16/bf16/int8/fp8 at batch 1 and 64 on TensorRT, the torch evaluator and native PyTorch;
# cold vs warm timing cache; build stage vs raw API; torch-vs-TensorRT fidelity). Prints figures.
#
#   source $HOME/trt/env.sh               # the shared install: shared/tools/tensorrt-gpu-host/
#   bash bench/gpu_tensorrt.sh tests resnet50      # about 7 min on an H200
#   PRECISIONS="fp16 int8 int8-fp32rest int8-before" bash bench/gpu_tensorrt.sh resnet50
#                                                  # int8/fp16 now vs before issue 23's placement work, about 4 min
#   bash bench/gpu_tensorrt.sh bert examples       # about 4 min
#   (no arguments: all four parts; JSON under ${OUT:-bench/out/gpu-tensorrt};
#    PRECISIONS="fp16 int8" narrows the precisions, ITERATIONS=50 the timed runs)
#
# Needs python3 with torch (CUDA), torchvision, transformers, onnx, onnxruntime, numpy, grpcio
# and TensorRT 10.x/11.x importable as `tensorrt`. The tests also need pytest; where it is
# missing they are skipped with how to carry it. grpcio-health-checking is not needed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="runner-py${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
OUT=${OUT:-bench/out/gpu-tensorrt}
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(tests resnet50 bert examples)
if ! "$PY" -c 'import tensorrt as t; t.Builder(t.Logger(t.Logger.ERROR)); print("tensorrt", t.__version__, "builder ok")'; then
  echo "TensorRT cannot create a Builder here: source \$HOME/trt/env.sh first (shared/tools/tensorrt-gpu-host/README.md)" >&2
  exit 3
fi
rc=0
bench=()
for p in "${parts[@]}"; do
  case $p in
    tests)
      if "$PY" -c 'import pytest' 2>/dev/null; then
        start=$SECONDS
        timeout 360 "$PY" -m pytest runner-py/tests/backends/tensorrt -m gpu -q -rs -p no:cacheprovider || rc=1
        echo "GPU tests: $((SECONDS - start)) s"
      else
        echo "pytest is not installed: GPU tests skipped. Carry it: on your machine 'pip download -d wheels pytest'," \
             "copy wheels/ here, then '$PY -m pip install --no-index --target \$HOME/trt/site wheels/*.whl'" >&2
      fi ;;
    resnet50|bert|examples) bench+=("$p") ;;
    *) echo "unknown part '$p' (tests resnet50 bert examples)" >&2; exit 2 ;;
  esac
done
if [[ ${#bench[@]} -gt 0 ]]; then
  # shellcheck disable=SC2086 # PRECISIONS is a word list on purpose
  "$PY" bench/gpu_tensorrt.py --out "$OUT" --parts "${bench[@]}" --iterations "${ITERATIONS:-100}" \
    ${PRECISIONS:+--precisions $PRECISIONS} || rc=1
fi
exit $rc
