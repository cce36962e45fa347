/** `trtpipe run <pipeline.yaml>` */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkBatches } from '../../plan/matrix.js';
import { executePipeline } from '../../run/execute.js';
import { ExitCode } from '../exit-codes.js';
import { loadOrExit } from '../load-or-exit.js';
import { listrProgress } from '../progress/listr.js';
import { plainProgress } from '../progress/plain.js';
import type { ProgressSink } from '../progress/sink.js';
import { summaryTable } from '../summary-table.js';
import { UserError } from '../user-error.js';
import type { Pipeline } from '../../config/types.js';
import type { NodeFailure } from '../../run/events.js';

export default async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        verbose: { type: 'boolean', short: 'v' },
        'state-dir': { type: 'string' },
        python: { type: 'string' },
        'on-error': { type: 'string' },
      },
    });
  } catch (err) {
    throw new UserError(`${(err as Error).message}; see trtpipe --help`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UserError('usage: trtpipe run <pipeline.yaml> [--verbose] [--state-dir DIR]');
  const onError = values['on-error'] ?? 'fail';
  if (onError !== 'fail' && onError !== 'keep-going') throw new UserError(`--on-error must be fail or keep-going, not '${onError}'`);
  const pipeline = await loadOrExit(positionals[0]!);
  const stateRoot = path.resolve(values['state-dir'] ?? process.env.TRTPIPE_STATE_DIR ?? '.trtpipe');

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.Interrupted);
    process.stderr.write('\ntrtpipe: interrupted; cancelling running stages (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const interactive = process.stdout.isTTY && !values.verbose && !process.env.CI;
  let sink: ProgressSink | undefined;
  const write = (s: string) => process.stdout.write(s);
  try {
    const { record, runDir, outcome } = await executePipeline(pipeline, {
      stateRoot,
      python: values.python,
      signal: controller.signal,
      onError,
      onEvent: (e) => {
        if (e.type === 'planned') {
          write(`trtpipe: ${pipeline.name}: ${e.graph.cells.length} cell(s) (${e.graph.cells.map((c) => c.id).join(', ')}), ${e.graph.nodes.length} stages\n`);
          sink = interactive ? listrProgress(e.graph) : plainProgress(write, Boolean(values.verbose));
        } else if (e.type === 'runners-ready') {
          if (!interactive) write(`runners ready in ${e.seconds.toFixed(2)}s\n`);
        } else sink?.event(e);
      },
    });
    await sink?.done();
    write(`\n${summaryTable(record.cells, benchmarkBatches(pipeline))}\n\n`);
    for (const c of record.cells.filter((x) => x.failure)) {
      const f = c.failure!;
      process.stderr.write(`trtpipe: cell ${c.name}: stage ${f.stage} failed${f.node ? ` at node '${f.node}'` : ''}: ${withInputFiles(f, pipeline)}\n`);
    }
    const rel = path.relative(process.cwd(), runDir) || runDir;
    write(`run ${record.id}: ${record.status}. Report: ${path.join(rel, 'report.md')}\n`);
    if (outcome.interrupted) return ExitCode.Interrupted;
    return exitCodeFor([...outcome.failures].map(([node, f]) => ({ node, ...f })));
  } catch (err) {
    await sink?.done();
    if (controller.signal.aborted && !(err instanceof UserError)) return ExitCode.Interrupted;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Stages that validate the user's model and data: their user errors are invalid input. */
const INPUT_STAGES = new Set(['inspect', 'reference']);

function exitCodeFor(failures: (NodeFailure & { node: string })[]): number {
  if (!failures.length) return ExitCode.Ok;
  if (failures.every((f) => f.unavailable)) return ExitCode.RunnerUnavailable;
  if (failures.every((f) => f.user && INPUT_STAGES.has(f.node.split('@')[0]!))) return ExitCode.InvalidInput;
  return ExitCode.StageFailed;
}

/** Names the user's file a model/data error is about (the runner only sees artifacts). */
function withInputFiles(f: { stage: string; message: string; code: string }, p: Pipeline): string {
  const rel = (file: string) => path.relative(process.cwd(), file) || file;
  if (f.stage === 'inspect') return `model ${rel(p.model.path)}: ${f.message}`;
  if (f.code.startsWith('DATA_')) {
    const files = [`evaluation data ${rel(p.data.evaluation.npz ?? p.data.evaluation.dir ?? '(synthetic)')}`];
    if (p.data.calibration) files.push(`calibration data ${rel(p.data.calibration.npz ?? p.data.calibration.dir ?? '(synthetic)')}`);
    return `${f.message} (${files.join('; ')})`;
  }
  return f.message;
}
