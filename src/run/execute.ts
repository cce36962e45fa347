/**
 * One pipeline run, start to finish, without a terminal: plan, hash inputs,
 * start runners, schedule stages, write the run folder. The CLI renders the
 * events and decides the exit code.
 */
import path from 'node:path';
import { VERSION } from '../cli/help.js';
import type { Pipeline } from '../config/types.js';
import { buildGraph, type StageGraph } from '../plan/graph.js';
import { computeKeys } from '../plan/keys.js';
import { benchmarkBatches, expandMatrix } from '../plan/matrix.js';
import { renderMarkdown } from '../report/markdown.js';
import { summarizeCells } from '../report/summary.js';
import { hashFile } from '../store/hash-file.js';
import { RUN_SCHEMA, writeRunDir, type RunRecord, type StageRecord } from '../store/run-record.js';
import { newRunId, stateDir } from '../store/state-dir.js';
import type { SchedulerEvent } from './events.js';
import { hashInputFiles } from './input-files.js';
import { openRunners, type RunnerPool } from './runner-pool.js';
import { runGraph, type SchedulerOutcome } from './scheduler.js';

export interface ExecuteOptions {
  /** The state folder (.trtpipe). */
  stateRoot: string;
  python?: string;
  signal: AbortSignal;
  onEvent: (e: SchedulerEvent | { type: 'planned'; graph: StageGraph } | { type: 'runners-ready'; seconds: number }) => void;
  onError?: 'fail' | 'keep-going';
  cwd?: string;
}

export interface ExecuteResult {
  record: RunRecord;
  runDir: string;
  outcome: SchedulerOutcome;
}

export async function executePipeline(p: Pipeline, opts: ExecuteOptions): Promise<ExecuteResult> {
  const started = new Date();
  const t0 = performance.now();
  const dirs = stateDir(opts.stateRoot);
  const runId = newRunId(started);
  const cells = expandMatrix(p);
  const graph = buildGraph(p, cells);
  opts.onEvent({ type: 'planned', graph });
  const files = await hashInputFiles(graph);
  const targets = [...new Set(graph.nodes.map((n) => n.target))];
  const pool = await openRunners(p, targets, {
    storeDir: dirs.runnerStore,
    logFile: path.join(dirs.logs, `${runId}.runner.log`),
    python: opts.python,
    signal: opts.signal,
  });
  opts.onEvent({ type: 'runners-ready', seconds: pool.startSeconds });
  let uploadSeconds = 0;
  let outcome: SchedulerOutcome;
  try {
    const keys = computeKeys(graph, {
      fileHashes: new Map([...files].map(([k, v]) => [k, v.sha256])),
      targetIdentity: pool.identity,
    });
    outcome = await runGraph({
      graph,
      runners: pool.clients,
      files,
      keys,
      signal: opts.signal,
      onError: opts.onError,
      onEvent: (e) => {
        if (e.type === 'upload') uploadSeconds += e.seconds;
        opts.onEvent(e);
      },
    });
    await explainRunnerDeath(pool, outcome);
    const summaries = summarizeCells({ graph, ...outcome });
    const stages: Record<string, StageRecord> = {};
    for (const n of graph.nodes) {
      const r = outcome.results.get(n.id);
      const f = outcome.failures.get(n.id);
      stages[n.id] = {
        stage: n.stage,
        target: n.target,
        cells: n.cells,
        ...(keys.has(n.id) ? { key: keys.get(n.id) } : {}),
        status: r ? 'done' : f ? 'failed' : outcome.skipped.has(n.id) ? 'skipped' : 'not-run',
        params: n.params,
        ...(r ? { cached: r.cached, seconds: r.seconds, runner: r.runner, metrics: r.metrics, details: r.details, diagnostics: r.diagnostics, outputs: r.outputs } : {}),
        ...(f ? { error: { message: f.message, code: f.code, ...(f.node ? { node: f.node } : {}), ...(f.traceback ? { traceback: f.traceback } : {}) } } : {}),
        ...(outcome.skipped.has(n.id) ? { reason: outcome.skipped.get(n.id) } : {}),
      };
    }
    const status: RunRecord['status'] = outcome.interrupted ? 'interrupted' : outcome.failures.size ? 'failed' : 'ok';
    const cwd = opts.cwd ?? process.cwd();
    const record: RunRecord = {
      schema: RUN_SCHEMA,
      id: runId,
      status,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      trtpipe: { version: VERSION },
      pipeline: { name: p.name, file: path.relative(cwd, p.file), sha256: (await hashFile(p.file)).sha256 },
      inputs: Object.fromEntries([...files.values()].map((f) => [path.relative(cwd, f.path), { path: path.relative(cwd, f.path), sha256: f.sha256, size: f.size }])),
      runners: Object.fromEntries(
        [...pool.info].map(([t, i]) => [t, {
          address: i.local ? 'local' : i.address,
          local: i.local,
          runnerVersion: i.capabilities.runnerVersion,
          hostname: i.capabilities.hostname,
          backends: i.capabilities.backends,
          gpus: i.capabilities.gpus,
          versions: i.capabilities.versions,
        }]),
      ),
      timings: { runnerStartSeconds: pool.startSeconds, uploadSeconds, totalSeconds: (performance.now() - t0) / 1000 },
      cells: summaries,
      stages,
    };
    const md = renderMarkdown({
      pipeline: p.name,
      runId,
      status,
      cells: summaries,
      batches: benchmarkBatches(p, cells),
      dataNotes: dataNotes(outcome),
    });
    const runDir = await writeRunDir(dirs.runs, record, md);
    return { record, runDir, outcome };
  } finally {
    await pool.close();
  }
}

/**
 * If the local runner process died, the calls it was serving failed with a
 * bare transport error; say what really happened instead.
 */
async function explainRunnerDeath(pool: RunnerPool, outcome: SchedulerOutcome) {
  const proc = pool.local?.process;
  if (!proc || ![...outcome.failures.values()].some((f) => !f.user)) return;
  // The transport error can arrive before Node has reaped the child: wait briefly.
  await Promise.race([pool.local!.exited, new Promise((r) => setTimeout(r, 1000))]);
  if (!proc || (proc.exitCode === null && proc.signalCode === null)) return;
  const how = proc.signalCode ? `killed by ${proc.signalCode}` : `exit code ${proc.exitCode}`;
  const tail = pool.local!.stderrTail().split('\n').slice(-5).join('\n');
  for (const f of outcome.failures.values()) {
    if (f.user) continue;
    f.unavailable = true;
    f.code = 'RUNNER_DIED';
    f.message = `the local runner died (${how}) while this stage ran${tail ? `; its last output:\n${tail}` : ''}`;
  }
}

function dataNotes(outcome: SchedulerOutcome): string[] {
  const notes: string[] = [];
  for (const [node, key, label] of [['reference', 'eval_data', 'evaluation'], ['ranges', 'calib_data', 'calibration']] as const) {
    const d = outcome.results.get(node)?.details[key] as { samples?: number; synthetic?: boolean; inputs?: Record<string, { min: number; max: number; shape: number[] }> } | undefined;
    if (!d) continue;
    const ranges = Object.entries(d.inputs ?? {}).map(([k, v]) => `\`${k}\` ${JSON.stringify(v.shape)} in [${v.min.toPrecision(3)}, ${v.max.toPrecision(3)}]`);
    notes.push(`${label}: ${d.samples} samples${d.synthetic ? ' (**SYNTHETIC: random data**)' : ''}; ${ranges.join(', ')}`);
  }
  return notes;
}
