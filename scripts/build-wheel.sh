#!/usr/bin/env bash
# Builds the runner wheel into dist/runner/ with its pinned requirements beside it: what the npm
# package carries (`npm pack` runs this as prepack) and what GPU hosts install. Offline: the build
# backend comes from .venv (setuptools, build: runner-py/requirements-dev.lock), not from an index.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "build-wheel: run 'npm run setup' first (.venv missing)" >&2; exit 2; }
out=dist/runner
rm -rf "$out"
mkdir -p "$out"
# setuptools writes build/ and *.egg-info into the source folder; keep the checkout clean.
trap 'rm -rf runner-py/build runner-py/trtpipe_runner.egg-info' EXIT
log=$(mktemp)
"$PY" -m build --wheel --no-isolation --outdir "$out" runner-py >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
# The lock with its hashes: the local runner's environment installs it with --require-hashes, then
# the wheel with --no-deps (src/runner-client/runner-env.ts), as the Dockerfile does.
cp runner-py/requirements.lock "$out/requirements.lock"
echo "build-wheel: $(ls "$out"/*.whl)"
