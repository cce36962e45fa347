#!/usr/bin/env bash
# Checks the deployment files with the tools `npm run setup:test` installs (scripts/setup-ci-tools.sh),
# without a network or a container engine:
#   deploy/k8s/*.yaml        kubeconform, strict, against the API schemas of each release in K8S_VERSIONS
#   examples/ci/nightly.yml  actionlint (with shellcheck for its run: steps)
#   runner-py/Dockerfile     hadolint
# What these cannot see (an image that builds, a pod that schedules) is listed in docs/decisions.md;
# test/e2e/deploy-files.test.ts checks the files against the runner's real command line.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=ci-tools.env
. scripts/ci-tools.env
BIN=.tools/bin
for exe in kubeconform actionlint hadolint shellcheck; do
  [ -x "$BIN/$exe" ] || { echo "check-deploy: $BIN/$exe is missing; run 'npm run setup:test'" >&2; exit 2; }
done
status=0
for v in $K8S_VERSIONS; do
  echo "kubeconform (Kubernetes $v):"
  "$BIN/kubeconform" -strict -summary -kubernetes-version "$v" \
    -schema-location ".tools/k8s-schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    deploy/k8s/*.yaml || status=1
done
echo "actionlint:"
"$BIN/actionlint" -no-color -config-file examples/ci/actionlint.yaml -shellcheck "$BIN/shellcheck" -pyflakes "" examples/ci/nightly.yml && echo "  examples/ci/nightly.yml: no findings" || status=1
echo "hadolint:"
"$BIN/hadolint" --no-color runner-py/Dockerfile && echo "  runner-py/Dockerfile: no findings" || status=1
exit $status
