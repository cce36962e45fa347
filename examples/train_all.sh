#!/usr/bin/env bash
# Retrains every example model and rewrites its committed ONNX and .npz files.
# Needs torch, scikit-learn and onnx (a GPU is used when present, not required).
set -euo pipefail
cd "$(dirname "$0")"
for ex in digits transformer overflow; do
  python3 "$ex/train.py"
done
