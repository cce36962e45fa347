/** Help text; it imports only the version, so `trtpipe --help` loads nothing else. */
import { VERSION } from '../version.js';

export const HELP = `trtpipe ${VERSION}: declarative TensorRT precision pipelines

Usage: trtpipe <command> [options]

Commands:
  run <pipeline.yaml>      plan and run a pipeline: transform, build, evaluate, benchmark, report
  validate [paths...]      check pipeline files; folders are searched for *.yaml (default: pipelines/)
  plan <pipeline.yaml>     show the cells, their stage graph, and which stages are already cached
  init <model.onnx>        inspect a model (with the local runner) and write a starter pipeline
  setup                    make the local runner's Python environment now (else the first run does)
  schema                   print the pipeline JSON Schema
  lock <pipeline.yaml>     resolve every precision and write <pipeline>.lock.json beside it
  search <pipeline.yaml>   find the fewest nodes to keep in fp32 that meet precision.search.budget
  explain [run] [cell]     per node: requested, resolved and realized precision, and why
  cache ls|verify|prune    list, re-hash (removing corrupt entries) or prune the stage cache
  runners [pipeline.yaml]  every runner of the pipeline's targets: backends, GPUs, versions (--json);
                           --hold <s>: check that a stage silent for <s> seconds survives the way to each
  report <run>             re-render report.md, report.html and junit.xml from a run's run.json
  baseline save <run>      keep a run as a named baseline (--name, default main); baseline list
  compare <runA> <runB>    deltas per cell of B against A (--gates: judge B's gates, exit 4 on failure)

Options for run:
  --verbose                plain line-by-line progress, runner logs and waits for devices included
  --state-dir <dir>        where results go (default: .trtpipe in the current folder; or $TRTPIPE_STATE_DIR)
  --python <path>          Python for the local runner, used as is (or $TRTPIPE_PYTHON; default: a
                           checkout's .venv, else an environment trtpipe makes in its cache folder)
  --frozen                 fail if precision resolution differs from the committed lockfile
  --on-error <policy>      fail (default): after a failure start nothing new, queued stages included;
                           keep-going: run everything that does not depend on the failure
  --no-cache               run every stage even if its result is cached
  --stage-timeout <s>      cancel a stage that runs longer than this many seconds
  --baseline <name|run>    compare with a saved baseline (or any run) and apply the pipeline's gates

<run> is a run id (or a unique prefix), latest, a run folder or a run.json file.

Options for validate:
  --json                   diagnostics as JSON
  -q, --quiet              list only files with errors or warnings

Options for plan:
  --state-dir <dir>        where past runs and the cache are (default: .trtpipe)
  --json                   the plan as JSON

Options for explain:
  -a, --all                every node, not only those that do not run as requested
  --json                   the rows and shares as JSON
  --errors                 per node, the error against FP32 (pipelines with evaluate.localize): the nodes
                           that add the most, the first past the tolerance; --all: every node in graph order

Options for lock and search:
  --state-dir, --python, -v/--verbose as for run; search: --no-cache

Options for cache:
  prune --all | --older-than <days>   remove every entry, or those older than that (one is required)
  ls --json                entries as JSON

The local runner's environment lives in $TRTPIPE_CACHE_DIR (default: $XDG_CACHE_HOME/trtpipe or
~/.cache/trtpipe), one per runner version and Python version, made from python3
(or $TRTPIPE_BASE_PYTHON) with pip, which reads its own settings (PIP_INDEX_URL, ...).

Options for init:
  -o, --output <file>      where to write the pipeline (default: pipelines/<name>.yaml; never overwritten)
  --name <name>            pipeline name (default: from the model's file or folder name)
  --eval <file.npz>        evaluation data (default: eval.npz next to the model, if there is one)
  --calib <file.npz>       calibration data (default: calib.npz next to the model, if there is one)
  --state-dir, --python    as for run

General:
  -h, --help               this help
  -V, --version            print the version

Exit codes: 0 ok, 1 a stage failed, 2 invalid pipeline, arguments, model or data,
3 runner unreachable or incompatible, 4 a gate failed, 70 internal error (a bug), 130 interrupted.
`;
