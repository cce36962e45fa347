/**
 * Runs one stage node on a runner of its target: takes a slot (slot-queue.ts), moves its inputs
 * there (artifact-mover.ts), runs the stage, checks and caches the result; when the runner was
 * lost (retry-policy.ts) it tries again, on another member if that one is gone.
 */
import type { StageNode } from '../plan/graph.js';
import type { StageRunResult } from '../runner-client/stage-run.js';
import { CorruptObjectError, type StageCache } from '../store/cache.js';
import { objectsOf, type ArtifactRef, type NodeFailure, type NodeResult } from '../store/stage-result.js';
import { refOf, type ArtifactMover, type FileArtifact } from './artifact-mover.js';
import type { SchedulerEvent } from './events.js';
import type { RunnerHandle, RunnerPool } from './pool.js';
import { runnerLost, type RetryPolicy } from './retry-policy.js';
import type { SlotQueue } from './slot-queue.js';

export interface ExecutorOptions {
  pool: RunnerPool;
  slots: SlotQueue;
  mover: ArtifactMover;
  /** Every input file, by graph path, with its hash. */
  files: Map<string, FileArtifact>;
  /** Results of finished nodes: their outputs are later nodes' inputs. */
  results: Map<string, NodeResult>;
  cache: StageCache;
  useCache: boolean;
  signal: AbortSignal;
  onEvent: (e: SchedulerEvent) => void;
  retry: RetryPolicy;
  /** fail: a failure stops every stage still waiting for a slot. */
  onError: 'fail' | 'keep-going';
  /** Checks a finished stage's result (e.g. against the lockfile); a returned failure fails the node. */
  check?: (node: StageNode, result: NodeResult) => NodeFailure | undefined;
  /** Per-stage deadline in milliseconds. */
  stageTimeoutMs?: number;
}

export class NodeExecutor {
  /** The runner that produced each node's outputs (where a later node fetches them from). */
  private readonly producers = new Map<string, RunnerHandle>();

  constructor(private readonly o: ExecutorOptions) {}

  /** Runs `node` (content key `key`, when it has one) holding `ticket` for its target's slots. */
  async execute(node: StageNode, key: string | undefined, ticket: number): Promise<NodeResult> {
    const { o } = this;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) o.slots.requeue(node.target, ticket);
      const h = await o.slots.acquire(node.target, ticket, this.heldBytes(node));
      try {
        const t0 = performance.now();
        const inputs = await this.stageInputs(node, h);
        const t1 = performance.now();
        o.onEvent({ type: 'stage-start', node: node.id, runner: h.address, inputSeconds: (t1 - t0) / 1000 });
        const res = await h.client.runStage(
          { stage: node.stage, cell: node.cells.join(','), inputs, params: node.params },
          (e) => {
            if (e.kind === 'progress') o.onEvent({ type: 'stage-progress', node: node.id, fraction: e.fraction, message: e.message });
            else if (e.kind === 'log') o.onEvent({ type: 'stage-log', node: node.id, level: e.level, message: e.message });
            else if (e.kind === 'lease') o.onEvent({ type: 'stage-lease', node: node.id, lease: e.lease });
          },
          { signal: o.signal, ...(o.stageTimeoutMs ? { timeoutMs: o.stageTimeoutMs } : {}) },
        );
        o.onEvent({ type: 'stage-returned', node: node.id, seconds: (performance.now() - t1) / 1000 });
        const result = nodeResult(res, h);
        for (const obj of Object.values(result.outputs).flatMap(objectsOf)) h.has.add(obj.sha256);
        this.producers.set(node.id, h);
        const rejected = o.check?.(node, result);
        if (rejected) throw rejected;
        if (key && o.useCache) {
          await Promise.all(
            Object.values(result.outputs)
              .flatMap(objectsOf)
              .map((obj) => o.mover.fetch(h, obj)),
          );
          await o.cache.put(key, node.id, node.stage, result);
        }
        return result;
      } catch (err) {
        const retry =
          !o.signal.aborted &&
          attempt < o.retry.retries &&
          (await runnerLost(err, h, o.pool, o.retry, (x) => o.mover.forget(x))) &&
          o.pool.members(node.target).length > 0;
        if (!retry) {
          // Before the slot is released (finally): a stage waiting for it must see the stop.
          // A corrupt cached input is healed by the scheduler (its producer runs again): not a failure.
          if (o.onError === 'fail' && !(err instanceof CorruptObjectError)) o.slots.stop();
          throw err;
        }
        o.onEvent({
          type: 'stage-log',
          node: node.id,
          level: 'warning',
          message: `runner ${h.address} lost (${(err as Error).message}); retrying (attempt ${attempt + 2})`,
        });
      } finally {
        o.slots.release(h);
      }
    }
  }

  /** How many bytes of `node`'s inputs a runner is known to hold (the slot queue prefers the most). */
  private heldBytes(node: StageNode): (h: RunnerHandle) => number {
    const refs: ArtifactRef[] = [];
    const addFile = (f: FileArtifact): void => {
      refs.push(refOf(f));
      f.dependencies?.forEach(addFile);
    };
    for (const ref of Object.values(node.inputs)) {
      if (ref.kind === 'file') addFile(this.o.files.get(ref.path)!);
      else {
        const out = this.o.results.get(ref.node)?.outputs[ref.output];
        if (out) refs.push(...objectsOf(out));
      }
    }
    return (h) => refs.reduce((sum, r) => sum + (h.has.has(r.sha256) ? r.size : 0), 0);
  }

  private async stageInputs(node: StageNode, h: RunnerHandle): Promise<Record<string, ArtifactRef>> {
    const inputs: Record<string, ArtifactRef> = {};
    await Promise.all(
      Object.entries(node.inputs).map(async ([name, ref]) => {
        if (ref.kind === 'file') {
          const f = this.o.files.get(ref.path)!;
          await this.o.mover.ensureFile(h, f);
          inputs[name] = refOf(f);
        } else {
          const out = this.o.results.get(ref.node)!.outputs[ref.output];
          if (!out) throw new Error(`stage ${ref.node} produced no '${ref.output}' output`);
          await this.o.mover.ensureOutput(h, out, this.producers.get(ref.node));
          inputs[name] = out;
        }
      }),
    );
    return inputs;
  }
}

function nodeResult(res: StageRunResult, h: RunnerHandle): NodeResult {
  return { ...res, runner: h.address, cached: false };
}
