#!/usr/bin/env bash
# The whole test suite (what `npm test` and CI run): build, generated-code drift
# checks (proto, pipeline schema, stage contract), every pipeline validates, the deployment files' checkers,
# TypeScript tests (uvu; test/e2e/package.test.ts packs and installs trtpipe), Python tests (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }

step "build (tsc)"
npm run --silent build

step "generated gRPC code matches proto/"
bash scripts/gen-proto.sh --check

step "generated pipeline types and validator match the schema"
node scripts/gen-schema.mjs --check

step "generated stage contract and vocabulary match proto/trtpipe/runner/v1/contract"
node scripts/gen-contract.mjs --check

step "linters: eslint, prettier, ruff, mypy"
bash scripts/lint.sh

step "imports point down the layers (docs/architecture.md)"
node scripts/check-layers.mjs

step "every pipeline and example validates"
node bin/trtpipe.js validate pipelines examples

step "deployment files: kubeconform, actionlint, hadolint"
bash scripts/check-deploy.sh

step "TypeScript tests (uvu)"
# A lease folder of their own (as pytest's conftest gives the Python tests): the host-wide one may
# be held by another session's benchmark, whose lease events a test's stream does not expect.
TRTPIPE_LEASE_DIR=$(mktemp -d -t trtpipe-test-leases.XXXXXX)
export TRTPIPE_LEASE_DIR
trap 'rm -rf "$TRTPIPE_LEASE_DIR"' EXIT
npx uvu dist/test '\.test\.js$'

step "Python tests (pytest)"
.venv/bin/python -m pytest runner-py/tests -q
