/** `trtpipe run <pipeline.yaml>` */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchmarkBatches } from '../../config/matrix.js';
import { executePipeline } from '../../run/execute.js';
import { loadBaseline } from '../../store/baselines.js';
import { gateSummary } from '../gate-summary.js';
import { ExitCode, exitCodeOfFailures } from '../exit-codes.js';
import { failureKind } from '../../run/failure-kind.js';
import { loadOrExit } from '../load-or-exit.js';
import { plaintextTokenWarnings } from '../plaintext-warning.js';
import { prepareLocalRunner } from '../local-runner-setup.js';
import { plainProgress } from '../progress/plain.js';
import type { ProgressSink } from '../progress/sink.js';
import { summaryTable } from '../summary-table.js';
import { InputError, TrtpipeError } from '../../errors.js';
import type { Pipeline } from '../../config/types.js';
import { lockPath, readLockfile } from '../../store/lockfile.js';
import { describeTolerance } from '../../report/tolerances.js';
import { committedSearch } from '../committed-search.js';
import { stateRootOf } from '../state-root.js';
import type { Lockfile } from '../../gen/schema/lock-file.js';

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
        frozen: { type: 'boolean' },
        'no-cache': { type: 'boolean' },
        'stage-timeout': { type: 'string' },
        baseline: { type: 'string' },
      },
    });
  } catch (err) {
    throw new InputError(`${(err as Error).message}; see trtpipe --help`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError('usage: trtpipe run <pipeline.yaml> [--baseline NAME] [--verbose] [--state-dir DIR]');
  const onError = values['on-error'] ?? 'fail';
  if (onError !== 'fail' && onError !== 'keep-going') throw new InputError(`--on-error must be fail or keep-going, not '${onError}'`);
  const stageTimeout = values['stage-timeout'] !== undefined ? Number(values['stage-timeout']) : undefined;
  if (stageTimeout !== undefined && !(stageTimeout > 0)) throw new InputError(`--stage-timeout must be a number of seconds > 0, not '${values['stage-timeout']}'`);
  const pipeline = await loadOrExit(positionals[0]!);
  for (const w of plaintextTokenWarnings(pipeline)) process.stderr.write(`${w}\n`);
  const stateRoot = stateRootOf(values['state-dir']);
  let frozen: { file: string; lock: Lockfile } | undefined;
  if (values.frozen) {
    const file = lockPath(pipeline.file);
    const lock = readLockfile(file);
    if (!lock) throw new InputError(`--frozen: no lockfile ${path.relative(process.cwd(), file)}; create it with \`trtpipe lock ${positionals[0]}\``);
    frozen = { file, lock };
  }
  // Before anything runs: a missing baseline should not cost a whole run.
  const baseline = values.baseline !== undefined ? await loadBaseline(stateRoot, values.baseline) : undefined;
  if (baseline && baseline.record.pipeline.name !== pipeline.name) {
    throw new InputError(`baseline '${values.baseline}' is a run of pipeline '${baseline.record.pipeline.name}', not '${pipeline.name}'; cells would be compared across models`);
  }

  const searchKeep = await committedSearch(pipeline, { frozen: Boolean(values.frozen), warn: (l) => process.stderr.write(`${l}\n`) });
  await prepareLocalRunner(values.python, pipeline);
  const controller = new AbortController();
  let interrupts = 0;
  let stopRecord: ((reason: unknown) => void) | undefined;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts > 1) {
      // Quitting at once: the run record still says the run was interrupted, and how far it got.
      stopRecord?.(new TrtpipeError('interrupted', 'interrupted twice (Ctrl-C): quit without waiting for the running stages'));
      process.exit(ExitCode.Interrupted);
    }
    process.stderr.write('\ntrtpipe: interrupted; cancelling running stages (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const interactive = process.stdout.isTTY && !values.verbose && !process.env.CI;
  // listr2 only for a terminal: loading it costs a no-op re-run in CI noticeable time.
  const listrProgress = interactive ? (await import('../progress/listr.js')).listrProgress : undefined;
  let sink: ProgressSink | undefined;
  const write = (s: string) => process.stdout.write(s);
  try {
    const { record, runDir, outcome, reports } = await executePipeline(pipeline, {
      stateRoot,
      python: values.python,
      signal: controller.signal,
      onError,
      useCache: !values['no-cache'],
      ...(searchKeep ? { searchKeep } : {}),
      ...(stageTimeout ? { stageTimeoutMs: stageTimeout * 1000 } : {}),
      ...(frozen ? { frozen } : {}),
      ...(baseline ? { baseline } : {}),
      onEvent: (e) => {
        if (e.type === 'preflight') {
          process.stderr.write(`trtpipe: warning: ${e.finding.cell} on target '${e.finding.target}': ${e.finding.message}\n`);
        } else if (e.type === 'planned') {
          write(`trtpipe: ${pipeline.name}: ${e.graph.cells.length} cell(s) (${e.graph.cells.map((c) => c.id).join(', ')}), ${e.graph.nodes.length} stages\n`);
          sink = listrProgress ? listrProgress(e.graph) : plainProgress(write, Boolean(values.verbose));
        } else if (e.type === 'run-started') {
          stopRecord = e.stopSync;
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
    const internal = [...outcome.failures].filter(([, f]) => !f.user && !f.unavailable && f.traceback);
    for (const [node, f] of internal.slice(0, 1)) {
      process.stderr.write(`\ntrtpipe: ${node} hit an internal error (a bug in trtpipe; please report it with this output):\n${f.traceback}\n`);
    }
    const skipped = record.cells.filter((c) => c.status === 'skipped').map((c) => c.name);
    if (skipped.length) process.stderr.write(`trtpipe: skipped (not run because of the failures above): ${skipped.join(', ')}\n`);
    const cachedStages = Object.values(record.stages).filter((s) => s.cached).length;
    if (cachedStages) write(`${cachedStages}/${Object.keys(record.stages).length} stages from the cache (--no-cache to rerun them)\n`);
    const rel = path.relative(process.cwd(), runDir) || runDir;
    write(`run ${record.id}: ${record.status}. Report: ${path.join(rel, 'report.md')}\n`);
    // Gates: printed after the summary; a failed gate exits 4 unless a stage failure says more.
    if (reports) write(`${[...gateSummary(reports.gates), `HTML report: ${path.join(rel, 'report.html')}, JUnit: ${path.join(rel, 'junit.xml')}`].join('\n')}\n`);
    if (outcome.interrupted) return ExitCode.Interrupted;
    const code = exitCodeOfFailures([...outcome.failures].map(([node, f]) => failureKind(node, f)));
    if (code !== ExitCode.Ok) return code;
    const outOfTolerance = record.cells.flatMap((c) => (c.tolerances ?? []).filter((t) => !t.pass).map((t) => `${c.name}: ${describeTolerance(t)}`));
    for (const line of outOfTolerance) process.stderr.write(`trtpipe: out of tolerance: ${line}\n`);
    return outOfTolerance.length || reports?.gates.failed ? ExitCode.GateFailed : ExitCode.Ok;
  } catch (err) {
    await sink?.done();
    if (controller.signal.aborted && !(err instanceof TrtpipeError)) return ExitCode.Interrupted;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Names the user's file a model/data error is about (the runner only sees artifacts). */
function withInputFiles(f: { stage: string; message: string; code: string }, p: Pipeline): string {
  const rel = (file: string) => path.relative(process.cwd(), file) || file;
  if (f.stage === 'inspect' && !f.code.startsWith('DATA_')) return `model ${rel(p.model.path)}: ${f.message}`;
  if (f.code.startsWith('DATA_')) {
    const files = [`evaluation data ${rel(p.data.evaluation.npz ?? p.data.evaluation.dir ?? '(synthetic)')}`];
    if (p.data.calibration) files.push(`calibration data ${rel(p.data.calibration.npz ?? p.data.calibration.dir ?? '(synthetic)')}`);
    return `${f.message} (${files.join('; ')})`;
  }
  return f.message;
}
