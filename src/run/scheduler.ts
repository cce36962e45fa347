/**
 * Runs a stage graph on runner pools: each node once its dependencies are done, from the cache
 * when its key is there (one process computes a key at a time), else on a runner of its target
 * (node-executor.ts: slots in plan order, lost runners retried). Emits events; knows nothing of
 * terminals (renderers subscribe) or gRPC (runners are a RunnerPool).
 *
 * Failures: --on-error fail (default) starts nothing new after one, queued stages included;
 * keep-going runs everything that does not depend on it. Ctrl-C cancels the calls in flight,
 * which cancels their stages on the runners.
 */
import { setMaxListeners } from 'node:events';
import type { StageGraph, StageNode } from '../plan/graph.js';
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import { CorruptObjectError, type StageCache } from '../store/cache.js';
import { objectsOf, type NodeFailure, type NodeResult } from '../store/stage-result.js';
import { ArtifactMover, type FileArtifact } from './artifact-mover.js';
import type { SchedulerEvent } from './events.js';
import { NodeExecutor } from './node-executor.js';
import type { RunnerPool } from './pool.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry-policy.js';
import { NOT_STARTED, SlotQueue } from './slot-queue.js';

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
  /** Stages at a time on one runner (default 1: benchmarks need a quiet machine). */
  perRunner?: number;
  /** fail: start nothing new after a failure; keep-going: run what does not depend on it. */
  onError?: 'fail' | 'keep-going';
  /** Checks a finished stage's result (e.g. against the lockfile); a returned failure fails the node. */
  check?: (node: StageNode, result: NodeResult) => NodeFailure | undefined;
  /** Checks every stage's result, from the cache too (the labels against the model's classes). */
  accept?: (node: StageNode, result: NodeResult) => NodeFailure | undefined;
  /** Per-stage deadline in milliseconds (undefined: none). */
  stageTimeoutMs?: number;
  /** When a runner is lost (default: 2 retries, health checks at 0.5, 1, 2 s). */
  retry?: RetryPolicy;
}

export interface SchedulerOutcome {
  results: Map<string, NodeResult>;
  failures: Map<string, NodeFailure>;
  skipped: Map<string, string>;
  interrupted: boolean;
}

/** Corrupt cached inputs healed for one stage before its failure stands. */
const MAX_HEALS = 8;

export async function runGraph(opts: SchedulerOptions): Promise<SchedulerOutcome> {
  const { graph, signal, cache } = opts;
  // Every call in flight listens on the run's signal; a wide matrix has many.
  setMaxListeners(0, signal);
  const onError = opts.onError ?? 'fail';
  const results = new Map<string, NodeResult>();
  const failures = new Map<string, NodeFailure>();
  const skipped = new Map<string, string>();
  const running = new Map<string, Promise<void>>();
  const pending = [...graph.nodes];
  const slots = new SlotQueue(opts.pool, opts.perRunner ?? 1, signal);
  const executor = new NodeExecutor({
    pool: opts.pool,
    slots,
    mover: new ArtifactMover(cache, opts.onEvent, signal),
    files: opts.files,
    results,
    cache,
    useCache: opts.useCache,
    signal,
    onEvent: opts.onEvent,
    retry: opts.retry ?? DEFAULT_RETRY,
    onError,
    ...(opts.check ? { check: opts.check } : {}),
    ...(opts.stageTimeoutMs ? { stageTimeoutMs: opts.stageTimeoutMs } : {}),
  });

  const fromCache = async (key: string): Promise<NodeResult | undefined> => {
    const entry = await cache.get(key);
    return entry ? { ...entry.result, cached: true } : undefined;
  };

  const compute = async (node: StageNode, key: string | undefined, ticket: number): Promise<NodeResult> => {
    if (!key || !opts.useCache) return executor.execute(node, key, ticket);
    const cached = await fromCache(key);
    if (cached) return cached;
    // Another process may be computing the same key: wait for it, then read its result.
    const result = await cache.withKeyLock(key, async () => (await fromCache(key)) ?? executor.execute(node, key, ticket), signal);
    return result ?? (await fromCache(key)) ?? (await executor.execute(node, key, ticket));
  };

  /**
   * Runs `attempt` for `node`; when a cached input fails its hash on the way to the runner
   * (artifact-mover.ts, which evicted its entries), the stage that made it runs again (healing its
   * own corrupt inputs the same way) and `attempt` is tried again.
   */
  const healing = async (node: StageNode, attempt: () => Promise<NodeResult>): Promise<NodeResult> => {
    for (let heals = 0; ; heals++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof CorruptObjectError) || heals >= MAX_HEALS) throw err;
        const producer = graph.nodes.find(
          (n) =>
            node.deps.includes(n.id) &&
            Object.values(results.get(n.id)?.outputs ?? {})
              .flatMap(objectsOf)
              .some((o) => o.sha256 === err.sha256),
        );
        if (!producer) throw err;
        opts.onEvent({
          type: 'stage-log',
          node: node.id,
          level: 'warning',
          message: `${err.message}: removed it and the cache entries that list it; running ${producer.id} again`,
        });
        const t = slots.ticket(producer.target);
        try {
          results.set(producer.id, await healing(producer, () => executor.execute(producer, opts.keys.get(producer.id), t)));
        } finally {
          slots.drop(producer.target, t);
        }
      }
    }
  };

  const runNode = async (node: StageNode, ticket: number): Promise<void> => {
    const key = opts.keys.get(node.id);
    try {
      const result = await healing(node, () => compute(node, key, ticket));
      const rejected = opts.accept?.(node, result);
      if (rejected) throw rejected;
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
      if (onError === 'fail') slots.stop();
    } finally {
      slots.drop(node.target, ticket);
      running.delete(node.id);
    }
  };

  while (pending.length || running.size) {
    if (signal.aborted) slots.stop();
    for (let i = 0; i < pending.length; i++) {
      const node = pending[i]!;
      const failedDep = node.deps.find((d) => failures.has(d) || skipped.has(d));
      if (failedDep || slots.isStopped) {
        const reason = failedDep
          ? `${failedDep} ${failures.has(failedDep) ? 'failed' : 'was skipped'}`
          : signal.aborted
            ? 'interrupted'
            : 'an earlier stage failed';
        skipped.set(node.id, reason);
        opts.onEvent({ type: 'stage-skipped', node: node.id, reason });
        pending.splice(i--, 1);
        continue;
      }
      if (!node.deps.every((d) => results.has(d))) continue;
      pending.splice(i--, 1);
      running.set(node.id, runNode(node, slots.ticket(node.target)));
    }
    if (running.size) await Promise.race(running.values());
    else if (pending.length && !slots.isStopped) {
      throw new Error(`stage graph is stuck: ${pending.map((n) => n.id).join(', ')}`);
    }
  }
  return { results, failures, skipped, interrupted: signal.aborted };
}

/** A node's failure as the run records it: the runner's code and message, or a client-side one. */
export function toFailure(err: unknown, signal: AbortSignal): NodeFailure {
  if (isNodeFailure(err)) return err;
  if (err instanceof RunnerCallError) {
    return {
      message:
        signal.aborted && err.isCancelled ? 'cancelled' : err.isTimeout ? `timed out (--stage-timeout): ${err.message}` : err.message,
      code: err.failureCode,
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
