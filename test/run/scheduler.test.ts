/**
 * The scheduler on a fake RunnerPool (run/pool.ts): plan order of slots, dependencies, retries
 * after a lost runner, cancellation, --on-error fail and keep-going. The fake stands in for
 * runners only (their stages answer as scripted); the scheduler, slot queue, node executor,
 * retry policy, artifact mover and stage cache are the real ones.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StageGraph, StageNode } from '../../src/plan/graph.js';
import type { LocalExit, RunnerCalls, RunnerHandle, RunnerPool } from '../../src/run/pool.js';
import { runGraph, type SchedulerOptions } from '../../src/run/scheduler.js';
import { capabilitiesFromJson } from '../../src/runner-client/capabilities.js';
import { RunnerCallError, status } from '../../src/runner-client/runner-call-error.js';
import type { StageEvent, StageRunRequest, StageRunResult } from '../../src/runner-client/stage-run.js';
import { StageCache } from '../../src/store/cache.js';
import { tempDir } from '../helpers/paths.js';

/** How a fake runner answers a stage: after `ms`, a result or an error. */
type Script = (req: StageRunRequest, signal: AbortSignal | undefined) => Promise<StageRunResult>;

const ok =
  (ms = 5): Script =>
  (_req, signal) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(
        () => resolve({ outputs: {}, metrics: { ms }, details: {}, diagnostics: [], seconds: ms / 1000, leases: [] }),
        ms,
      );
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(RunnerCallError.cancelled('RunStage', 'Cancelled on client'));
        },
        { once: true },
      );
    });

class FakeRunner implements RunnerCalls {
  readonly calls: string[] = [];
  healthyAnswer = true;
  constructor(private readonly script: (req: StageRunRequest) => Script) {}
  runStage(req: StageRunRequest, _on: (e: StageEvent) => void, opts: { signal?: AbortSignal } = {}): Promise<StageRunResult> {
    this.calls.push(req.stage + (req.cell ? `@${req.cell}` : ''));
    return this.script(req)(req, opts.signal);
  }
  healthy(): Promise<boolean> {
    return Promise.resolve(this.healthyAnswer);
  }
  hasArtifacts(): Promise<Set<string>> {
    return Promise.resolve(new Set());
  }
  putArtifact(): Promise<boolean> {
    return Promise.resolve(false);
  }
  importArtifact(): Promise<boolean> {
    return Promise.resolve(false);
  }
  getArtifact(): Promise<never> {
    return Promise.reject(new Error('no artifacts in these tests'));
  }
  close(): void {}
}

class FakePool implements RunnerPool {
  readonly handles: RunnerHandle[];
  constructor(runners: FakeRunner[]) {
    this.handles = runners.map((client, i) => ({
      address: `fake-${i}:50051`,
      target: 'gpu',
      client,
      local: false,
      capabilities: capabilitiesFromJson({}),
      alive: true,
      load: { busy: 0 },
      has: new Set<string>(),
    }));
  }
  start(): Promise<RunnerHandle[]> {
    return Promise.resolve(this.handles);
  }
  members(): RunnerHandle[] {
    return this.handles.filter((h) => h.alive);
  }
  waitLocalExit(): Promise<void> {
    return Promise.resolve();
  }
  localExit(): LocalExit | undefined {
    return undefined;
  }
}

/** A node of stage `inspect` (params {}), named `id`, after `deps`. */
function node(id: string, deps: string[] = []): StageNode {
  return { id, stage: 'inspect', target: 'gpu', cells: [id], inputs: {}, params: {}, deps } as StageNode;
}

function schedule(graph: StageNode[], pool: RunnerPool, extra: Partial<SchedulerOptions> = {}) {
  const events: string[] = [];
  const run = runGraph({
    graph: { cells: [], nodes: graph } as StageGraph,
    pool,
    files: new Map(),
    keys: new Map(),
    cache: new StageCache(path.join(tempDir(), 'cache')),
    useCache: false,
    signal: new AbortController().signal,
    retry: { retries: 2, healthChecks: 1, backoffMs: () => 0, healthTimeoutMs: 100 },
    onEvent: (e) => {
      if (e.type === 'stage-start' || e.type === 'stage-done' || e.type === 'stage-failed' || e.type === 'stage-skipped')
        events.push(`${e.type.slice(6)} ${e.node}`);
      if (e.type === 'stage-log') events.push(`log ${e.node}: ${e.message}`);
    },
    ...extra,
  });
  return { run, events };
}

test('one slot per runner: stages start in plan order once their dependencies are done', async () => {
  // b's stage is slow; c and d depend only on a. One runner: d must still wait for c (plan order).
  const runner = new FakeRunner((req) => ok(req.cell === 'b' ? 40 : 5));
  const { run, events } = schedule(
    [node('a'), node('b'), node('c', ['a']), node('d', ['a']), node('e', ['c', 'd'])],
    new FakePool([runner]),
  );
  const outcome = await run;
  assert.equal([...outcome.results.keys()].sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(runner.calls, ['inspect@a', 'inspect@b', 'inspect@c', 'inspect@d', 'inspect@e']);
  assert.ok(events.indexOf('done a') < events.indexOf('start c'), events.join('\n'));
  assert.ok(events.indexOf('done c') < events.indexOf('start e') && events.indexOf('done d') < events.indexOf('start e'));
});

test('two runners share the work, never more than one stage each', async () => {
  let running = 0;
  let most = 0;
  const script = (): Script => async (req, signal) => {
    running += 1;
    most = Math.max(most, running);
    try {
      return await ok(10)(req, signal);
    } finally {
      running -= 1;
    }
  };
  const a = new FakeRunner(script);
  const b = new FakeRunner(script);
  const outcome = await schedule(
    ['1', '2', '3', '4', '5', '6'].map((id) => node(id)),
    new FakePool([a, b]),
  ).run;
  assert.is(outcome.results.size, 6);
  assert.is(most, 2);
  assert.ok(a.calls.length >= 2 && b.calls.length >= 2, `${a.calls} / ${b.calls}`);
});

test('of the free runners, a stage goes to the one that holds its inputs: an output is used where it was made', async () => {
  const sha = 'ab'.repeat(32);
  // x's stage leaves an output on its runner; the fake runners cannot send it to another (getArtifact fails).
  const script = (req: StageRunRequest): Script =>
    req.cell === 'x'
      ? async (r, signal) => ({
          ...(await ok(30)(r, signal)),
          outputs: { model: { sha256: sha, size: 1000, mediaType: 'application/onnx' } },
        })
      : ok(5);
  const pool = new FakePool([new FakeRunner(script), new FakeRunner(script)]);
  // a takes fake-0 and x fake-1; b needs x's output and gets a slot when both are free again.
  const b = { ...node('b', ['a', 'x']), inputs: { model: { kind: 'stage', node: 'x', output: 'model' } } } as StageNode;
  const { run, events } = schedule([node('a'), node('x'), b], pool);
  const outcome = await run;
  assert.is(outcome.failures.size, 0, JSON.stringify([...outcome.failures.values()]));
  assert.is(outcome.results.get('x')!.runner, 'fake-1:50051');
  assert.is(outcome.results.get('b')!.runner, 'fake-1:50051');
  assert.ok(events.indexOf('done a') < events.indexOf('start b'), events.join('\n'));
});

test('targets whose handles share a runner share its slots', async () => {
  let running = 0;
  let most = 0;
  const script = (): Script => async (req, signal) => {
    most = Math.max(most, ++running);
    try {
      return await ok(10)(req, signal);
    } finally {
      running -= 1;
    }
  };
  // One runner process, a handle per target (as PipelineRunnerPool makes them): one load.
  const pool = new FakePool([new FakeRunner(script)]);
  const shared = pool.handles[0]!;
  const handles = ['t1', 't2', 't3'].map((target) => ({ ...shared, target }));
  pool.members = (target?: string) => handles.filter((h) => h.target === target);
  const nodes = ['t1', 't2', 't3'].flatMap((target) => ['1', '2'].map((i) => ({ ...node(`${target}-${i}`), target })));
  const outcome = await schedule(nodes, pool).run;
  assert.is(outcome.results.size, 6);
  assert.is(most, 1);
});

test('stage-start names the runner and the time its inputs took; stage-returned comes between it and stage-done', async () => {
  const seen: string[] = [];
  const { run } = schedule([node('a')], new FakePool([new FakeRunner(() => ok())]), {
    onEvent: (e) => {
      if (e.type === 'stage-start') seen.push(`start ${e.node} on ${e.runner}, inputs ${e.inputSeconds >= 0 ? 'timed' : 'untimed'}`);
      if (e.type === 'stage-returned') seen.push(`returned ${e.node} after ${e.seconds > 0 ? 'a while' : 'no time'}`);
      if (e.type === 'stage-done') seen.push(`done ${e.node}`);
    },
  });
  await run;
  assert.equal(seen, ['start a on fake-0:50051, inputs timed', 'returned a after a while', 'done a']);
});

test('a lost runner: the stage is retried on another member of the pool', async () => {
  const dying = new FakeRunner(() => () => Promise.reject(new RunnerCallError('RunStage', status.UNAVAILABLE, 'connection refused')));
  dying.healthyAnswer = false; // it does not come back: dropped from the pool
  const healthy = new FakeRunner(() => ok());
  const pool = new FakePool([dying, healthy]);
  const { run, events } = schedule([node('a')], pool);
  const outcome = await run;
  assert.is(outcome.failures.size, 0);
  assert.is(outcome.results.get('a')!.runner, 'fake-1:50051');
  assert.not.ok(pool.handles[0]!.alive);
  assert.ok(
    events.some((e) => /log a: runner fake-0:50051 lost \(connection refused\); retrying \(attempt 2\)/.test(e)),
    events.join('\n'),
  );
});

test('a runner that keeps failing fails the stage after the retries, as unavailable', async () => {
  const flaky = new FakeRunner(() => () => Promise.reject(new RunnerCallError('RunStage', status.UNAVAILABLE, 'connection reset')));
  const outcome = await schedule([node('a'), node('b', ['a'])], new FakePool([flaky])).run;
  assert.equal(flaky.calls, ['inspect@a', 'inspect@a', 'inspect@a'], 'the first attempt and 2 retries (it answers health checks)');
  assert.is(outcome.failures.get('a')!.unavailable, true);
  assert.is(outcome.failures.get('a')!.code, 'GRPC_14');
  assert.is(outcome.skipped.get('b'), 'a failed');
});

test('a stage error is not retried: the runner is fine', async () => {
  const detail = { kind: 1, code: 'DATA_SHAPE_MISMATCH', message: 'axis 3 is 9, not 8', node: '', input: 'input', traceback: '' };
  const runner = new FakeRunner(() => () => Promise.reject(new RunnerCallError('RunStage', 3, 'axis 3 is 9, not 8', detail)));
  const outcome = await schedule([node('a')], new FakePool([runner])).run;
  assert.is(runner.calls.length, 1);
  assert.equal(outcome.failures.get('a'), { message: 'axis 3 is 9, not 8', code: 'DATA_SHAPE_MISMATCH', user: true, unavailable: false });
});

test('--on-error fail: a failure starts nothing new, queued stages included', async () => {
  const runner = new FakeRunner((req) =>
    req.cell === 'a'
      ? () =>
          Promise.reject(
            new RunnerCallError('RunStage', 13, 'boom', {
              kind: 2,
              code: 'BUILD_FAILED',
              message: 'boom',
              node: '',
              input: '',
              traceback: '',
            }),
          )
      : ok(),
  );
  const outcome = await schedule([node('a'), node('b'), node('c')], new FakePool([runner])).run;
  assert.equal(runner.calls, ['inspect@a']);
  assert.equal([...outcome.skipped.values()], ['an earlier stage failed', 'an earlier stage failed']);
});

test('--on-error keep-going: runs everything that does not depend on the failure', async () => {
  const runner = new FakeRunner((req) =>
    req.cell === 'a'
      ? () =>
          Promise.reject(
            new RunnerCallError('RunStage', 13, 'boom', {
              kind: 2,
              code: 'BUILD_FAILED',
              message: 'boom',
              node: '',
              input: '',
              traceback: '',
            }),
          )
      : ok(),
  );
  const outcome = await schedule([node('a'), node('b'), node('c', ['a']), node('d', ['b'])], new FakePool([runner]), {
    onError: 'keep-going',
  }).run;
  assert.equal([...outcome.results.keys()].sort(), ['b', 'd']);
  assert.is(outcome.skipped.get('c'), 'a failed');
  assert.is(outcome.failures.get('a')!.code, 'BUILD_FAILED');
});

test('cancellation: the running stage and those waiting for a slot are cancelled, the rest skipped', async () => {
  const controller = new AbortController();
  const runner = new FakeRunner(() => ok(10_000));
  const { run } = schedule([node('a'), node('b', ['a']), node('c')], new FakePool([runner]), { signal: controller.signal });
  setTimeout(() => controller.abort(), 30);
  const t0 = performance.now();
  const outcome = await run;
  assert.ok(performance.now() - t0 < 5000, 'the long stage did not run to its end');
  assert.ok(outcome.interrupted);
  assert.equal(outcome.failures.get('a'), { message: 'cancelled', code: 'GRPC_1', user: false, unavailable: false });
  assert.is(outcome.failures.get('c')!.message, 'cancelled', 'it waited for the slot');
  assert.is(outcome.skipped.get('b'), 'a failed');
  assert.equal(runner.calls, ['inspect@a']);
});

test.run();
