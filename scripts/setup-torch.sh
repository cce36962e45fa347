#!/usr/bin/env bash
# Installs PyTorch (runner-py/requirements-torch.lock) into .venv, so the torch backend's tests
# and its ONNX conformance test run instead of skipping. Part of `npm run setup:test` (CI);
# `npm run setup` leaves it out: the runner needs torch only for `backend: torch`.
# About 2.7 GB to download; see docs/decisions.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  echo "setup-torch: run scripts/setup-python.sh first (no .venv here)" >&2
  exit 2
fi
start=$(date +%s)
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r runner-py/requirements-torch.lock
echo "torch ready: $(.venv/bin/python -c 'import torch; print(torch.__version__)') ($(( $(date +%s) - start )) s)"
