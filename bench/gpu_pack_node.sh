#!/usr/bin/env bash
# Packs what the real trtpipe CLI needs on a GPU host that has Python but no node and no network
# (bench/gpu_e2e.sh unpacks it there with Python's lzma and tarfile modules):
#   node.xz                  this machine's node binary, xz -9 (about 24 MB)
#   trtpipe-pkg.tar.xz       the npm package (`npm pack`: dist/src, bin, the runner wheel) installed
#                            with its production dependencies into pkg/node_modules (about 3 MB)
#   bench-scale.tar.xz       dist/bench/scale.js, dist/bench/latency_consistency.js and the test
#                            helpers they import (bench/scale, the
#                            scheduler's scale-out over loopback runners, beside the package's dist/src)
#   grpcio_health_checking-*.whl  the one runner dependency such hosts lack; its version follows the
#                            host's grpcio ($GRPCIO_VERSION, default 1.84.0: the H200 host's)
#
#   bash bench/gpu_pack_node.sh .gpu-node      (run from anywhere; writes into the folder given)
set -euo pipefail
out=${1:?usage: bash bench/gpu_pack_node.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node_bin=$(readlink -f "$(command -v node)")
if [ -s "$out/node.xz" ] && [ "$out/node.xz" -nt "$node_bin" ]; then
  echo "pack: node.xz is there already (newer than $node_bin; delete it to pack node again)"
else
  echo "pack: node $(node --version) from $node_bin (xz -9: about a minute)"
  xz -9 -T0 -c "$node_bin" >"$out/node.xz.tmp" && mv "$out/node.xz.tmp" "$out/node.xz"
fi

echo "pack: the npm package (npm pack builds dist/ and the runner wheel) and its production dependencies"
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tgz=$(ls "$work"/trtpipe-*.tgz)
mkdir -p "$work/pkg"
(cd "$work/pkg" && echo '{"name":"trtpipe-gpu-e2e","private":true}' >package.json \
  && npm install --omit=dev --no-audit --no-fund --silent "$tgz" >/dev/null)
tar -C "$work" -cf - pkg | xz -9 -T0 -c >"$out/trtpipe-pkg.tar.xz.tmp" && mv "$out/trtpipe-pkg.tar.xz.tmp" "$out/trtpipe-pkg.tar.xz"

echo "pack: bench/scale and bench/latency_consistency (dist/bench/*.js, dist/test/helpers)"
(cd "$repo" && tar -cf - dist/bench/scale.js dist/bench/latency_consistency.js dist/test/helpers/*.js | xz -9 -c >"$out/bench-scale.tar.xz")

echo "pack: grpcio-health-checking ${GRPCIO_VERSION:-1.84.0} (pure Python; the runner's health service)"
rm -f "$out"/grpcio_health_checking-*.whl
py="$repo/.venv/bin/python"
[ -x "$py" ] || py=python3
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  "grpcio-health-checking==${GRPCIO_VERSION:-1.84.0}" -d "$out"

du -b "$out"/* | awk '{ printf "pack: %8.1f MB  %s\n", $1 / 1e6, $2; total += $1 } END { printf "pack: %8.1f MB  total\n", total / 1e6 }'
