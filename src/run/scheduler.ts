/**
 * Runs a stage graph on runners: each node once its dependencies are done, at
 * most `perRunner` at a time on one runner, emitting events. Knows nothing of
 * terminals (renderers subscribe) and nothing of gRPC beyond RunnerClient.
 */
import { LogLevel, type ArtifactRef } from '../gen/trtpipe/runner/v1/runner.js';
import type { StageGraph, StageNode } from '../plan/graph.js';
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import type { RunnerClient } from '../runner-client/runner-client.js';
import type { NodeFailure, NodeResult, SchedulerEvent, StageDiagnostic } from './events.js';

export interface FileArtifact {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
  /** Artifacts this one refers to (a data manifest's files): uploaded with it. */
  dependencies?: FileArtifact[];
}

export interface SchedulerOptions {
  graph: StageGraph;
  /** Runner client per target name. */
  runners: Map<string, RunnerClient>;
  /** Every input file, by path, with its hash. */
  files: Map<string, FileArtifact>;
  /** Content key per node (for the record; caching builds on it). */
  keys: Map<string, string>;
  onEvent: (e: SchedulerEvent) => void;
  signal: AbortSignal;
  /** Concurrent stages per runner (1: benchmarks see a quiet machine). */
  perRunner?: number;
  /** fail: start nothing new after a failure; keep-going: run what does not depend on it. */
  onError?: 'fail' | 'keep-going';
  /** Checks a finished stage's result (e.g. against the lockfile); a returned failure fails the node. */
  check?: (node: StageNode, result: NodeResult) => NodeFailure | undefined;
}

export interface SchedulerOutcome {
  results: Map<string, NodeResult>;
  failures: Map<string, NodeFailure>;
  skipped: Map<string, string>;
  interrupted: boolean;
}

const LEVEL_NAMES: Record<number, string> = {
  [LogLevel.LOG_LEVEL_DEBUG]: 'debug',
  [LogLevel.LOG_LEVEL_INFO]: 'info',
  [LogLevel.LOG_LEVEL_WARNING]: 'warning',
  [LogLevel.LOG_LEVEL_ERROR]: 'error',
};

export async function runGraph(opts: SchedulerOptions): Promise<SchedulerOutcome> {
  const { graph, signal } = opts;
  const perRunner = opts.perRunner ?? 1;
  const results = new Map<string, NodeResult>();
  const failures = new Map<string, NodeFailure>();
  const skipped = new Map<string, string>();
  const running = new Map<string, Promise<void>>();
  const busy = new Map<string, number>();
  const pending = [...graph.nodes];
  const uploaded = new Map<string, Promise<void>>();
  let stopLaunching = false;

  const ensureOne = (file: FileArtifact, client: RunnerClient, target: string): Promise<void> => {
    const key = `${client.address}|${file.sha256}`;
    if (!uploaded.has(key)) {
      uploaded.set(key, (async () => {
        await Promise.all((file.dependencies ?? []).map((d) => ensureOne(d, client, target)));
        await upload(client, target, file, opts, signal);
      })());
    }
    return uploaded.get(key)!;
  };
  const ensureFiles = (node: StageNode, client: RunnerClient) =>
    Promise.all(
      Object.values(node.inputs)
        .filter((i) => i.kind === 'file')
        .map((i) => ensureOne(opts.files.get((i as { path: string }).path)!, client, node.target)),
    );

  const launch = (node: StageNode) => {
    const client = opts.runners.get(node.target)!;
    busy.set(client.address, (busy.get(client.address) ?? 0) + 1);
    const p = (async () => {
      try {
        await ensureFiles(node, client);
        const inputs: Record<string, ArtifactRef> = {};
        for (const [name, ref] of Object.entries(node.inputs)) {
          if (ref.kind === 'file') {
            const f = opts.files.get(ref.path)!;
            inputs[name] = { sha256: f.sha256, size: f.size, mediaType: f.mediaType };
          } else {
            const out = results.get(ref.node)!.outputs[ref.output];
            if (!out) throw new Error(`stage ${ref.node} produced no '${ref.output}' output`);
            inputs[name] = out;
          }
        }
        opts.onEvent({ type: 'stage-start', node: node.id });
        const res = await client.runStage(
          { stage: node.stage, cell: node.cells.join(','), inputs, paramsJson: JSON.stringify(node.params) },
          (e) => {
            if (e.kind === 'progress') opts.onEvent({ type: 'stage-progress', node: node.id, fraction: e.value.fraction, message: e.value.message });
            else opts.onEvent({ type: 'stage-log', node: node.id, level: LEVEL_NAMES[e.value.level] ?? 'info', message: e.value.message });
          },
          { signal },
        );
        const result: NodeResult = {
          outputs: res.outputs,
          metrics: res.metrics,
          details: res.detailsJson ? (JSON.parse(res.detailsJson) as Record<string, unknown>) : {},
          diagnostics: res.diagnostics.map((d) => ({
            level: (LEVEL_NAMES[d.level] ?? 'info') as StageDiagnostic['level'],
            code: d.code,
            message: d.message,
            ...(d.node ? { node: d.node } : {}),
          })),
          seconds: res.seconds,
          runner: client.address,
          cached: false,
        };
        const rejected = opts.check?.(node, result);
        if (rejected) throw rejected;
        results.set(node.id, result);
        opts.onEvent({ type: 'stage-done', node: node.id, result });
      } catch (err) {
        const failure = toFailure(err, signal);
        failures.set(node.id, failure);
        opts.onEvent({ type: 'stage-failed', node: node.id, failure });
        if ((opts.onError ?? 'fail') === 'fail') stopLaunching = true;
      } finally {
        busy.set(client.address, busy.get(client.address)! - 1);
        running.delete(node.id);
      }
    })();
    running.set(node.id, p);
  };

  while (pending.length || running.size) {
    if (signal.aborted) stopLaunching = true;
    for (let i = 0; i < pending.length; i++) {
      const node = pending[i]!;
      const failedDep = node.deps.find((d) => failures.has(d) || skipped.has(d));
      if (failedDep || stopLaunching) {
        const reason = failedDep
          ? `${failedDep} ${failures.has(failedDep) ? 'failed' : 'was skipped'}`
          : signal.aborted ? 'interrupted' : 'an earlier stage failed';
        skipped.set(node.id, reason);
        opts.onEvent({ type: 'stage-skipped', node: node.id, reason });
        pending.splice(i--, 1);
        continue;
      }
      if (!node.deps.every((d) => results.has(d))) continue;
      const address = opts.runners.get(node.target)!.address;
      if ((busy.get(address) ?? 0) >= perRunner) continue;
      pending.splice(i--, 1);
      launch(node);
    }
    if (running.size) await Promise.race(running.values());
    else if (pending.length && !stopLaunching) {
      // Nothing runnable and nothing running: a dependency cycle (a bug).
      throw new Error(`stage graph is stuck: ${pending.map((n) => n.id).join(', ')}`);
    }
  }
  return { results, failures, skipped, interrupted: signal.aborted };
}

async function upload(client: RunnerClient, target: string, file: FileArtifact, opts: SchedulerOptions, signal: AbortSignal) {
  const t0 = performance.now();
  const present = await client.hasArtifacts([file.sha256], { signal });
  if (!present.has(file.sha256)) {
    await client.putArtifact(file.path, { sha256: file.sha256, size: file.size, mediaType: file.mediaType }, { signal });
  }
  opts.onEvent({ type: 'upload', target, file: file.path, bytes: file.size, skipped: present.has(file.sha256), seconds: (performance.now() - t0) / 1000 });
}

function toFailure(err: unknown, signal: AbortSignal): NodeFailure {
  if (isNodeFailure(err)) return err;
  if (err instanceof RunnerCallError) {
    return {
      message: signal.aborted && err.code === 1 ? 'cancelled' : err.message,
      code: err.detail?.code || `GRPC_${err.code}`,
      user: err.isUserError,
      unavailable: err.isUnavailable,
      ...(err.detail?.node ? { node: err.detail.node } : {}),
      ...(err.detail?.traceback ? { traceback: err.detail.traceback } : {}),
    };
  }
  const e = err as Error;
  return { message: e.message ?? String(err), code: 'CLIENT_ERROR', user: false, unavailable: false, traceback: e.stack };
}

function isNodeFailure(x: unknown): x is NodeFailure {
  return typeof x === 'object' && x !== null && !(x instanceof Error) && 'code' in x && 'message' in x && 'user' in x;
}
