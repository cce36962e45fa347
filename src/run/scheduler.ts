/**
 * Runs a stage graph on runner pools: each node once its dependencies are
 * done, at most `perRunner` stages at a time on one runner (benchmarks need a
 * quiet machine), cached stages skipped, emitting events. Knows nothing of
 * terminals (renderers subscribe).
 *
 * Faults: a runner that becomes unreachable is retried with backoff; one
 * that is gone is dropped and the stage moves to another runner of the same
 * pool (inputs are re-sent from the local object store). Stage timeouts and
 * Ctrl-C cancel the call, which cancels the stage on the runner.
 */
import { setMaxListeners } from 'node:events';
import { status } from '@grpc/grpc-js';
import { LogLevel, type ArtifactParts, type ArtifactRef } from '../gen/trtpipe/runner/v1/runner.js';
import type { StageGraph, StageNode } from '../plan/graph.js';
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import type { StageCache } from '../store/cache.js';
import { ArtifactMover, refOf, type FileArtifact } from './artifact-mover.js';
import { type SchedulerEvent } from './events.js';
import { leaseRecord } from './leases.js';
import type { RunnerHandle, RunnerPool } from './runner-pool.js';
import { objectsOf, type NodeFailure, type NodeResult, type OutputRef, type StageDiagnostic } from '../store/stage-result.js';

export type { FileArtifact } from './artifact-mover.js';

export interface SchedulerOptions {
  graph: StageGraph;
  pool: RunnerPool;
  /** Every input file, by graph path, with its hash. */
  files: Map<string, FileArtifact>;
  /** Content key per node; nodes without one are never cached. */
  keys: Map<string, string>;
  /** The object store (always) and the entries (when `useCache`). */
  cache: StageCache;
  useCache: boolean;
  onEvent: (e: SchedulerEvent) => void;
  signal: AbortSignal;
  perRunner?: number;
  /** fail: start nothing new after a failure; keep-going: run what does not depend on it. */
  onError?: 'fail' | 'keep-going';
  /** Checks a finished stage's result (e.g. against the lockfile); a returned failure fails the node. */
  check?: (node: StageNode, result: NodeResult) => NodeFailure | undefined;
  /** Per-stage deadline in milliseconds (undefined: none). */
  stageTimeoutMs?: number;
  /** Attempts after the first when a runner is lost (default 2). */
  retries?: number;
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
  const { graph, signal, pool, cache } = opts;
  // Every call in flight listens on the run's signal; a wide matrix has many.
  setMaxListeners(0, signal);
  const perRunner = opts.perRunner ?? 1;
  const results = new Map<string, NodeResult>();
  const producers = new Map<string, RunnerHandle>();
  const failures = new Map<string, NodeFailure>();
  const skipped = new Map<string, string>();
  const running = new Map<string, Promise<void>>();
  const pending = [...graph.nodes];
  const mover = new ArtifactMover(cache, opts.onEvent, signal);
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let stopLaunching = false;
  // Runner slots go out in graph order: each launched node holds a ticket for
  // its target until it takes a slot (or needs none: a cache hit), and only
  // the oldest ticket may take a free slot. So stages start in plan order
  // (evaluate before benchmark) however long their cache lookups take.
  let nextTicket = 0;
  const tickets = new Map<string, Set<number>>();
  const dropTicket = (target: string, t: number) => {
    if (tickets.get(target)?.delete(t)) wake();
  };

  /** A runner of the node's pool with a free slot (waits for one, and for older tickets). */
  const acquire = async (target: string, ticket: number): Promise<RunnerHandle> => {
    await pool.start(target);
    for (;;) {
      if (signal.aborted) throw new RunnerCallError('RunStage', status.CANCELLED, 'interrupted');
      // --on-error fail: a stage still queued for a runner when another failed does not start.
      if (stopLaunching) throw NOT_STARTED;
      const alive = pool.members(target);
      if (!alive.length) throw lostAll(target);
      const oldest = Math.min(...(tickets.get(target) ?? new Set([ticket])));
      const free = alive.filter((h) => h.busy < perRunner).sort((a, b) => a.busy - b.busy)[0];
      if (free && ticket <= oldest) {
        free.busy += 1;
        dropTicket(target, ticket);
        return free;
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const release = (h: RunnerHandle) => {
    h.busy -= 1;
    wake();
  };

  const execute = async (node: StageNode, key: string | undefined, ticket: number): Promise<NodeResult> => {
    const retries = opts.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      // A retry queues behind nothing: it re-takes a ticket at the front.
      if (attempt > 0) tickets.get(node.target)?.add(ticket);
      const h = await acquire(node.target, ticket);
      try {
        const inputs = await stageInputs(node, h);
        opts.onEvent({ type: 'stage-start', node: node.id });
        const res = await h.client.runStage(
          { stage: node.stage, cell: node.cells.join(','), inputs, paramsJson: JSON.stringify(node.params) },
          (e) => {
            if (e.kind === 'progress') opts.onEvent({ type: 'stage-progress', node: node.id, fraction: e.value.fraction, message: e.value.message });
            else if (e.kind === 'log') opts.onEvent({ type: 'stage-log', node: node.id, level: LEVEL_NAMES[e.value.level] ?? 'info', message: e.value.message });
            else if (e.kind === 'lease') opts.onEvent({ type: 'stage-lease', node: node.id, lease: leaseRecord(e.value) });
          },
          { signal, ...(opts.stageTimeoutMs ? { timeoutMs: opts.stageTimeoutMs } : {}) },
        );
        const result: NodeResult = {
          outputs: withParts(res.outputs, res.outputParts),
          metrics: res.metrics,
          details: res.detailsJson ? (JSON.parse(res.detailsJson) as Record<string, unknown>) : {},
          diagnostics: res.diagnostics.map((d) => ({
            level: (LEVEL_NAMES[d.level] ?? 'info') as StageDiagnostic['level'],
            code: d.code,
            message: d.message,
            ...(d.node ? { node: d.node } : {}),
          })),
          seconds: res.seconds,
          runner: h.address,
          cached: false,
          leases: res.leases.map(leaseRecord),
        };
        for (const o of Object.values(result.outputs).flatMap(objectsOf)) h.has.add(o.sha256);
        producers.set(node.id, h);
        const rejected = opts.check?.(node, result);
        if (rejected) throw rejected;
        if (key && opts.useCache) {
          await Promise.all(Object.values(result.outputs).flatMap(objectsOf).map((o) => mover.fetch(h, o)));
          await cache.put(key, node.id, node.stage, result);
        }
        return result;
      } catch (err) {
        if (!(err instanceof RunnerCallError) || signal.aborted || !(await lost(h, err)) ||
            attempt >= retries || !pool.members(node.target).length) {
          // Before the slot is released (finally): a stage queued for it must see the stop.
          if ((opts.onError ?? 'fail') === 'fail') stopLaunching = true;
          throw err;
        }
        opts.onEvent({ type: 'stage-log', node: node.id, level: 'warning', message: `runner ${h.address} lost (${err.message}); retrying (attempt ${attempt + 2})` });
      } finally {
        release(h);
      }
    }
  };

  /** A failed call: was the runner lost? Retries a flaky one with backoff before giving up on it. */
  const lost = async (h: RunnerHandle, err: RunnerCallError): Promise<boolean> => {
    const transport = err.code === status.UNAVAILABLE || err.code === status.CANCELLED ||
      (err.code === status.INTERNAL && !err.detail) || (err.code === status.UNKNOWN && !err.detail);
    if (!transport) return false;
    if (h.local) {
      await pool.waitLocalExit(500);
      if (pool.localExit()) h.alive = false;
      return true;
    }
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 500 * 2 ** i));
      if (await h.client.healthy({ timeoutMs: 2000 }).catch(() => false)) {
        mover.forget(h); // it may have restarted with an empty store
        return true;
      }
    }
    h.alive = false;
    return true;
  };

  const stageInputs = async (node: StageNode, h: RunnerHandle): Promise<Record<string, ArtifactRef>> => {
    const inputs: Record<string, ArtifactRef> = {};
    await Promise.all(
      Object.entries(node.inputs).map(async ([name, ref]) => {
        if (ref.kind === 'file') {
          const f = opts.files.get(ref.path)!;
          await mover.ensureFile(h, f);
          inputs[name] = refOf(f);
        } else {
          const out = results.get(ref.node)!.outputs[ref.output];
          if (!out) throw new Error(`stage ${ref.node} produced no '${ref.output}' output`);
          await mover.ensureOutput(h, out, producers.get(ref.node));
          inputs[name] = out;
        }
      }),
    );
    return inputs;
  };

  const runNode = async (node: StageNode, ticket: number): Promise<void> => {
    const key = opts.keys.get(node.id);
    try {
      let result: NodeResult | undefined;
      if (key && opts.useCache) {
        result = await fromCache(key);
        if (!result) {
          result = await cache.withKeyLock(key, async () => (await fromCache(key)) ?? execute(node, key, ticket), signal);
          result ??= (await fromCache(key)) ?? (await execute(node, key, ticket));
        }
      } else {
        result = await execute(node, key, ticket);
      }
      results.set(node.id, result);
      opts.onEvent({ type: 'stage-done', node: node.id, result });
    } catch (err) {
      if (err === NOT_STARTED) {
        skipped.set(node.id, 'an earlier stage failed');
        opts.onEvent({ type: 'stage-skipped', node: node.id, reason: 'an earlier stage failed' });
        return;
      }
      const failure = toFailure(err, signal);
      failures.set(node.id, failure);
      opts.onEvent({ type: 'stage-failed', node: node.id, failure });
      if ((opts.onError ?? 'fail') === 'fail') stopLaunching = true;
    } finally {
      dropTicket(node.target, ticket);
      running.delete(node.id);
    }
  };

  const fromCache = async (key: string): Promise<NodeResult | undefined> => {
    const entry = await cache.get(key);
    return entry ? { ...entry.result, cached: true } : undefined;
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
      pending.splice(i--, 1);
      const ticket = nextTicket++;
      if (!tickets.has(node.target)) tickets.set(node.target, new Set());
      tickets.get(node.target)!.add(ticket);
      running.set(node.id, runNode(node, ticket));
    }
    if (running.size) await Promise.race(running.values());
    else if (pending.length && !stopLaunching) {
      throw new Error(`stage graph is stuck: ${pending.map((n) => n.id).join(', ')}`);
    }
  }
  return { results, failures, skipped, interrupted: signal.aborted };
}

/** Outputs with the files each manifest names (a model with external data). */
function withParts(outputs: Record<string, ArtifactRef>, parts: Record<string, ArtifactParts>): Record<string, OutputRef> {
  return Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, parts[k]?.parts.length ? { ...o, parts: parts[k]!.parts } : o]));
}

/** Thrown by `acquire` for a queued stage that must not start after a failure (--on-error fail). */
const NOT_STARTED = Symbol('not started');

function lostAll(target: string): RunnerCallError {
  return new RunnerCallError('RunStage', status.UNAVAILABLE, `no runner of target '${target}' is left`);
}

function toFailure(err: unknown, signal: AbortSignal): NodeFailure {
  if (isNodeFailure(err)) return err;
  if (err instanceof RunnerCallError) {
    const timeout = err.code === status.DEADLINE_EXCEEDED && !err.detail;
    return {
      message: signal.aborted && err.code === status.CANCELLED ? 'cancelled' : timeout ? `timed out (--stage-timeout): ${err.message}` : err.message,
      code: timeout ? 'TIMEOUT' : err.detail?.code || `GRPC_${err.code}`,
      user: err.isUserError,
      unavailable: err.isUnavailable || err.code === status.UNAVAILABLE,
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
