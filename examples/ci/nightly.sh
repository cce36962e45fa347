#!/usr/bin/env bash
# Nightly precision regression run: every pipeline given (default: pipelines/*.yaml),
# one after another (benchmarks need a quiet machine), each compared with its
# baseline `nightly-<file stem>` and judged by its gates.
#
#   examples/ci/nightly.sh [pipeline.yaml ...]
#
# Environment:
#   TRTPIPE_STATE_DIR  state folder kept between nights (runs, baselines, history.jsonl); default .trtpipe
#   TRTPIPE_REPORTS    where each pipeline's report.md/html, junit.xml and run.json are copied; default reports
#   TRTPIPE_PROMOTE=1  make tonight's runs the new baselines (after a reviewed, intended change)
#   TRTPIPE            the command; default: npx trtpipe
#
# The first night of a pipeline (no baseline yet) saves its run as the baseline.
# Exit code: 0 all good; 4 a gate failed; otherwise the first other failure (1 stage, 2 input, 3 runner).
set -uo pipefail
# The repository's root: trtpipe's own, or the one whose node_modules/trtpipe holds this script.
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || echo "$(dirname "$0")/../..")"
state=${TRTPIPE_STATE_DIR:-.trtpipe}
reports=${TRTPIPE_REPORTS:-reports}
read -r -a trtpipe <<< "${TRTPIPE:-npx trtpipe}"
export TRTPIPE_STATE_DIR=$state
[ $# -gt 0 ] || set -- pipelines/*.yaml
mkdir -p "$reports"
: > "$reports/summary.md"
worst=0
for pipeline in "$@"; do
  stem=$(basename "$pipeline" .yaml)
  baseline=nightly-$stem
  args=()
  [ -f "$state/baselines/$baseline.json" ] && args=(--baseline "$baseline")
  echo "== $pipeline ${args[*]}"
  log=$(mktemp)
  "${trtpipe[@]}" run "$pipeline" "${args[@]}" 2>&1 | tee "$log"
  code=${PIPESTATUS[0]}
  run_id=$(grep -oE '^run [0-9]{8}-[0-9]{6}-[0-9a-f]{4}' "$log" | tail -1 | cut -d' ' -f2)
  rm -f "$log"
  if [ -n "$run_id" ]; then
    mkdir -p "$reports/$stem"
    for f in report.md report.html junit.xml run.json; do
      [ -f "$state/runs/$run_id/$f" ] && cp "$state/runs/$run_id/$f" "$reports/$stem/"
    done
    cat "$state/runs/$run_id/report.md" >> "$reports/summary.md"
    if [ "$code" -eq 0 ] && { [ ${#args[@]} -eq 0 ] || [ "${TRTPIPE_PROMOTE:-0}" = 1 ]; }; then
      "${trtpipe[@]}" baseline save "$run_id" --name "$baseline"
    fi
  fi
  # A stage or runner failure says more than a gate: keep the first of those, else 4.
  if [ "$code" -ne 0 ] && { [ "$worst" -eq 0 ] || [ "$worst" -eq 4 ]; }; then worst=$code; fi
done
exit "$worst"
