#!/usr/bin/env bash
# Installs the Python linters (ruff, mypy; runner-py/requirements-lint.lock) into .venv for
# scripts/lint.sh. The TypeScript ones (eslint, typescript-eslint, prettier) come with `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "setup-lint: run 'npm run setup' first (.venv missing)" >&2; exit 2; }
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r runner-py/requirements-lint.lock
echo "linters ready: $(.venv/bin/ruff --version), $(.venv/bin/mypy --version)"
