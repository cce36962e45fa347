/**
 * One pipeline run, start to finish, without a terminal: plan, hash inputs,
 * start runners, schedule stages, write the run folder. The CLI renders the
 * events and decides the exit code.
 */
import path from 'node:path';
import { VERSION } from '../version.js';
import type { Pipeline } from '../config/types.js';
import { transformPrecision } from '../plan/node-id.js';
import { diffLock } from '../store/lockfile.js';
import { parseAllowance } from '../report/gates.js';
import { summarizeCells } from '../report/summary.js';
import { writeReports, type ReportsResult } from '../report/write-reports.js';
import type { Baseline } from '../store/baselines.js';
import { hashFile } from '../store/hash-file.js';
import { completeRunDir, RUN_SCHEMA } from '../store/run-record.js';
import { appendHistory } from '../store/history.js';
import { RunJournal } from './run-journal.js';
import { labelsProblem, readLabels } from '../store/npz-labels.js';
import type { NodeFailure } from '../store/stage-result.js';
import { newRunId, stateDir } from '../store/state-dir.js';
import type { SchedulerEvent } from './events.js';
import { hashInputs, keysOf, stageGraph } from './keyed-graph.js';
import type { StageGraph, StageNode } from '../plan/graph.js';
import { PipelineRunnerPool } from './runner-pool.js';
import type { RunnerPool } from './pool.js';
import { preflight, type PreflightFinding } from './preflight.js';
import { StageCache } from '../store/cache.js';
import { RunnerUnavailableError } from '../errors.js';
import { runGraph, type SchedulerOutcome } from './scheduler.js';
import type { LockRow, Lockfile } from '../gen/schema/lock-file.js';
import type { RunRecord, StageRecord } from '../gen/schema/run-record.js';

/** Everything a run reports: the scheduler's events plus planning, runners and preflight. */
export type ExecuteEvent =
  | SchedulerEvent
  | { type: 'planned'; graph: StageGraph }
  | { type: 'runners-ready'; seconds: number }
  | { type: 'preflight'; finding: PreflightFinding }
  /** The run folder exists with a run.json of status running; `stopSync` marks it stopped (a second Ctrl-C). */
  | { type: 'run-started'; runDir: string; stopSync: (reason: unknown) => void };

export interface ExecuteOptions {
  /** The state folder (.trtpipe). */
  stateRoot: string;
  python?: string;
  signal: AbortSignal;
  onEvent: (e: ExecuteEvent) => void;
  onError?: 'fail' | 'keep-going';
  cwd?: string;
  /** Run only the nodes selected (and what they depend on). */
  only?: (n: StageNode) => boolean;
  /** Write the run folder (default true). */
  writeRun?: boolean;
  /** `--frozen`: transforms must resolve exactly as this lockfile says. */
  frozen?: { file: string; lock: Lockfile };
  /** Read and write the stage cache (default true; `--no-cache` turns it off). */
  useCache?: boolean;
  /** Per-stage deadline (`--stage-timeout`). */
  stageTimeoutMs?: number;
  /** A committed search result to use instead of searching. */
  searchKeep?: { towards: string; kept: string[] };
  /** Compare with this run record and judge the pipeline's gates against it (report/write-reports.ts). */
  baseline?: Baseline;
}

export interface ExecuteResult {
  record: RunRecord;
  runDir: string;
  outcome: SchedulerOutcome;
  /** Gate results and the report files written. */
  /** Gates and report files (absent when the run folder is not written). */
  reports?: ReportsResult;
}

export async function executePipeline(p: Pipeline, opts: ExecuteOptions): Promise<ExecuteResult> {
  const started = new Date();
  const t0 = performance.now();
  const dirs = stateDir(opts.stateRoot);
  const runId = newRunId(started);
  const graph = stageGraph(p, { ...(opts.searchKeep ? { searchKeep: opts.searchKeep } : {}), ...(opts.only ? { only: opts.only } : {}) });
  const cells = graph.cells;
  opts.onEvent({ type: 'planned', graph });
  const files = await hashInputs(graph, path.join(opts.stateRoot, 'tmp'));
  const targets = [...new Set(graph.nodes.map((n) => n.target))];
  const cwd = opts.cwd ?? process.cwd();
  const base = {
    schema: RUN_SCHEMA,
    id: runId,
    started: started.toISOString(),
    finished: started.toISOString(),
    trtpipe: { version: VERSION },
    pipeline: { name: p.name, file: path.relative(cwd, p.file), sha256: (await hashFile(p.file)).sha256 },
    inputs: Object.fromEntries([...files].map(([name, f]) => [relName(cwd, name), { path: relName(cwd, name), sha256: f.sha256, size: f.size }])),
  };
  // The record is written first (status running) and completed last (run-journal.ts).
  const journal = opts.writeRun === false ? undefined : await RunJournal.start(dirs.runs, { ...base, runners: {}, timings: { runnerStartSeconds: 0, uploadSeconds: 0, totalSeconds: 0 } }, graph.nodes);
  if (journal) opts.onEvent({ type: 'run-started', runDir: journal.runDir, stopSync: (reason) => journal.stopSync(reason) });
  let record: RunRecord | undefined;
  try {
    return await runAndRecord();
  } catch (err) {
    await journal?.stop(err, opts.signal.aborted, record);
    throw err;
  }

  async function runAndRecord(): Promise<ExecuteResult> {
  const pool = new PipelineRunnerPool(p, {
    stateRoot: opts.stateRoot,
    logFile: path.join(dirs.logs, `${runId}.runner.log`),
    python: opts.python,
    signal: opts.signal,
  });
  const evaluation = p.data.evaluation;
  const labels = evaluation.labels ? await readLabels(evaluation, evaluation.labels) : undefined;
  let uploadSeconds = 0;
  let outcome: SchedulerOutcome;
  try {
    const identities = new Map<string, Record<string, unknown>>();
    for (const t of targets) identities.set(t, await pool.identity(t));
    const findings = preflight(p, cells.filter((c) => graph.nodes.some((n) => n.cells.includes(c.id))), pool.capabilities);
    for (const f of findings.filter((x) => x.severity === 'warning')) opts.onEvent({ type: 'preflight', finding: f });
    const refused = findings.filter((f) => f.severity === 'error');
    if (refused.length) {
      throw new RunnerUnavailableError(`preflight refused ${refused.length} cell(s) before any work:\n${refused.map((f) => `  ${f.cell} on target '${f.target}': ${f.message}`).join('\n')}`);
    }
    opts.onEvent({ type: 'runners-ready', seconds: pool.startSeconds });
    const keys = keysOf(graph, files, identities);
    outcome = await runGraph({
      graph,
      pool,
      files,
      keys,
      cache: new StageCache(dirs.cache),
      useCache: opts.useCache ?? true,
      signal: opts.signal,
      onError: opts.onError,
      ...(opts.stageTimeoutMs ? { stageTimeoutMs: opts.stageTimeoutMs } : {}),
      ...(opts.frozen ? { check: frozenCheck(opts.frozen) } : {}),
      ...(labels ? { accept: labelsCheck(labels) } : {}),
      onEvent: (e) => {
        if (e.type === 'upload') uploadSeconds += e.seconds;
        else if (e.type === 'stage-done') journal?.stage(e.node, 'done', e.result.cached);
        else if (e.type === 'stage-failed') journal?.stage(e.node, 'failed');
        else if (e.type === 'stage-skipped') journal?.stage(e.node, 'skipped');
        opts.onEvent(e);
      },
    });
    await explainRunnerDeath(pool, outcome);
    const summaries = summarizeCells({ graph, ...outcome, evaluate: p.evaluate, noiseMax: parseAllowance(p.benchmark.noise_max).relative });
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
        params: n.params as Record<string, unknown>,
        ...(r ? { cached: r.cached, seconds: r.seconds, runner: r.runner, metrics: r.metrics, details: r.details, diagnostics: r.diagnostics, outputs: r.outputs, ...(r.leases ? { leases: r.leases } : {}) } : {}),
        ...(f ? { error: { message: f.message, code: f.code, ...(f.node ? { node: f.node } : {}), ...(f.traceback ? { traceback: f.traceback } : {}) } } : {}),
        ...(outcome.skipped.has(n.id) ? { reason: outcome.skipped.get(n.id) } : {}),
      };
    }
    const status: RunRecord['status'] = outcome.interrupted ? 'interrupted' : outcome.failures.size ? 'failed' : 'ok';
    const full: RunRecord = {
      ...base,
      status,
      finished: new Date().toISOString(),
      runners: Object.fromEntries(
        targets.map((t) => {
          const caps = pool.capabilities.get(t)!;
          const members = pool.all().filter((h) => h.target === t);
          return [t, {
            address: members.map((h) => h.address).join(',') || (p.targets.find((x) => x.name === t)!.runners.join(',')),
            local: p.targets.find((x) => x.name === t)!.runners.every((r) => r === 'local'),
            runnerVersion: caps.runnerVersion,
            hostname: caps.hostname,
            backends: caps.backends,
            gpus: caps.gpus,
            versions: caps.versions,
            ...(members.length > 1 ? { gpusByRunner: Object.fromEntries(members.map((h) => [h.address, h.capabilities.gpus])) } : {}),
          }];
        }),
      ),
      timings: { runnerStartSeconds: pool.startSeconds, uploadSeconds, totalSeconds: (performance.now() - t0) / 1000 },
      cells: summaries,
      stages,
    };
    record = full;
    if (!journal) return { record: full, runDir: '', outcome };
    await journal.finish();
    let reports: ReportsResult | undefined;
    const final = full;
    // Provenance, baseline comparison, gates and the reports, then metrics.json and run.json last;
    // the history line only once the folder is complete.
    await completeRunDir(journal.runDir, final, async (dir) => {
      reports = await writeReports(dir, final, { pipeline: p, stateRoot: opts.stateRoot, cwd, baseline: opts.baseline });
    });
    if (reports?.history) await appendHistory(opts.stateRoot, reports.history);
    return { record: final, runDir: journal.runDir, outcome, ...(reports ? { reports } : {}) };
  } finally {
    await pool.close();
  }
  }
}

/**
 * Labels outside the model's classes make top-1 a silent 0%: once the model is inspected (cached or
 * not), every label must be an index into the last axis of its first output.
 */
function labelsCheck(labels: number[]) {
  return (node: StageNode, result: { details: Record<string, unknown> }): NodeFailure | undefined => {
    if (node.stage !== 'inspect') return undefined;
    const output = (result.details.outputs as { name: string; shape: (number | string)[] }[] | undefined)?.[0];
    const classes = output?.shape.at(-1);
    if (typeof classes !== 'number' || classes < 1) return undefined;
    const problem = labelsProblem(labels, classes);
    if (!problem) return undefined;
    return { message: `the evaluation labels are not class indices of output '${output!.name}' ${JSON.stringify(output!.shape)}: ${problem}`, code: 'DATA_LABELS_RANGE', user: true, unavailable: false };
  };
}

/** A transform whose lock rows differ from the committed lockfile fails, naming the nodes. */
function frozenCheck(frozen: { file: string; lock: Lockfile }) {
  return (node: StageNode, result: { details: Record<string, unknown> }) => {
    if (node.stage !== 'transform') return undefined;
    const precision = transformPrecision(node.id)!;
    const expected = frozen.lock.precisions[precision];
    const fix = `run \`trtpipe lock\` and commit ${path.basename(frozen.file)}`;
    if (!expected) {
      return { message: `${path.basename(frozen.file)} has no entry for ${precision}; ${fix}`, code: 'LOCK_MISMATCH', user: true, unavailable: false };
    }
    const changed = diffLock(expected.nodes, result.details.lock as LockRow[]);
    if (!changed.length) return undefined;
    const listing = changed.slice(0, 8).join('; ') + (changed.length > 8 ? `; and ${changed.length - 8} more` : '');
    return { message: `resolution differs from ${path.basename(frozen.file)} for ${changed.length} node(s): ${listing}. If intended, ${fix}`, code: 'LOCK_MISMATCH', user: true, unavailable: false };
  };
}

/**
 * If the local runner process died, the calls it was serving failed with a
 * bare transport error; say what really happened instead.
 */
async function explainRunnerDeath(pool: RunnerPool, outcome: SchedulerOutcome) {
  if (![...outcome.failures.values()].some((f) => !f.user)) return;
  // The transport error can arrive before Node has reaped the child: wait briefly.
  await pool.waitLocalExit(1000);
  const exit = pool.localExit();
  if (!exit) return;
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  const tail = exit.tail.split('\n').slice(-5).join('\n');
  for (const f of outcome.failures.values()) {
    if (f.user) continue;
    f.unavailable = true;
    f.code = 'RUNNER_DIED';
    f.message = `the local runner died (${how}) while this stage ran${tail ? `; its last output:\n${tail}` : ''}`;
  }
}

/** Files relative to the working directory; `synthetic:<role>` names as they are. */
function relName(cwd: string, name: string): string {
  return name.startsWith('synthetic:') ? name : path.relative(cwd, name) || name;
}

