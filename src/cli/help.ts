/** Help text; kept free of imports so `trtpipe --help` loads nothing else. */
export const VERSION = '0.1.0';

export const HELP = `trtpipe ${VERSION}: declarative TensorRT precision pipelines

Usage: trtpipe <command> [options]

Commands:
  run <pipeline.yaml>      plan and run a pipeline: transform, build, evaluate, benchmark, report
  validate [files...]      check pipeline files (all of pipelines/ by default)
  schema                   print the pipeline JSON Schema
  lock <pipeline.yaml>     resolve every precision and write <pipeline>.lock.json beside it
  search <pipeline.yaml>   find the fewest nodes to keep in fp32 that meet precision.search.budget
  explain [run] [cell]     per node: requested, resolved and realized precision, and why
  cache ls|verify|prune    list, re-hash (removing corrupt entries) or prune the stage cache
  runners [pipeline.yaml]  every runner of the pipeline's targets: backends, GPUs, versions (--json)

Options for run:
  --verbose                plain line-by-line progress, runner logs included
  --state-dir <dir>        where results go (default: .trtpipe in the current folder)
  --python <path>          Python for the local runner (default: .venv/bin/python of trtpipe, then python3)
  --frozen                 fail if precision resolution differs from the committed lockfile
  --on-error <mode>        fail (default: start nothing new after a failure) or keep-going
  --no-cache               run every stage even if its result is cached
  --stage-timeout <s>      cancel a stage that runs longer than this many seconds

General:
  -h, --help               this help
  -V, --version            print the version

Exit codes: 0 ok, 1 a stage failed, 2 invalid pipeline or arguments,
3 runner unreachable or incompatible, 4 a gate failed, 130 interrupted.
`;
