/**
 * Stages of any length, with the keepalive contract scaled down 300-fold
 * (TRTPIPE_GRPC_KEEPALIVE_MS=100 on both ends stands for 30 s) so that
 * minutes of protocol take a second or two. The `hold` stage says nothing
 * while it runs, like a TensorRT build of a large model.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnLocalRunner } from '../../src/runner-client/local-runner.js';
import { RunnerCallError } from '../../src/runner-client/runner-call-error.js';
import { RunnerClient, type StageEvent } from '../../src/runner-client/runner-client.js';
import { runCli } from '../helpers/cli.js';
import { startIdleProxy } from '../helpers/idle-proxy.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';
import { POOL_TOKEN, serveRunner } from '../helpers/runners.js';

const KEEPALIVE_MS = 100;
const t = suite('long stages');

/** Runs `fn` with these environment variables set in this process (the client reads them). */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

t('a silent stage 15 keepalive intervals long is not ended with too_many_pings (ping policy alone, no heartbeats)', async () => {
  // Heartbeats far apart: only the server's ping policy stands between the
  // client's pings and a GOAWAY. With grpcio's default policy (one ping per 5
  // minutes, scaled: 1 s) the call died after 3 strikes with RESOURCE_EXHAUSTED.
  const env = { TRTPIPE_GRPC_KEEPALIVE_MS: String(KEEPALIVE_MS), TRTPIPE_STAGE_HEARTBEAT_MS: '60000' };
  await withEnv(env, async () => {
    const runner = await spawnLocalRunner({ storeDir: path.join(tempDir(), 'store') });
    const client = new RunnerClient(runner.address, { token: runner.token });
    try {
      const events: StageEvent[] = [];
      const result = await client.runStage({ stage: 'hold', cell: '', inputs: {}, params: { seconds: 1.5 } }, (e) => events.push(e));
      assert.ok(result.metrics.held_seconds! >= 1.5, `held ${result.metrics.held_seconds}`);
      assert.equal(events, [], 'the stream carried nothing but the result');
      // Only a deadline the caller sets (trtpipe run --stage-timeout) ends a stage early.
      const late = await client.runStage({ stage: 'hold', cell: '', inputs: {}, params: { seconds: 30 } }, () => {}, { timeoutMs: 300 }).catch((e: RunnerCallError) => e);
      assert.instance(late, RunnerCallError);
      assert.is((late as RunnerCallError).code, status.DEADLINE_EXCEEDED);
    } finally {
      client.close();
      await runner.stop();
    }
  });
});

t('through a remote token-protected runner behind a proxy that cuts idle streams: heartbeats carry a silent stage to the end', async () => {
  const dir = tempDir();
  const scaled = { TRTPIPE_GRPC_KEEPALIVE_MS: String(KEEPALIVE_MS) };
  const file = path.join(dir, 'remote.yaml');
  const check = async (heartbeatMs: number) => {
    const runner = await serveRunner(path.join(dir, `store-${heartbeatMs}`), [], { ...scaled, TRTPIPE_STAGE_HEARTBEAT_MS: String(heartbeatMs) });
    // The first capabilities probe imports the backends (torch takes seconds on a loaded machine):
    // done once here, directly, so the proxy below judges the stage's silence, not an import.
    const warm = new RunnerClient(runner.address, { token: POOL_TOKEN });
    try { await warm.getCapabilities(); } finally { warm.close(); }
    // An L7 proxy's idle timeout, 60 s scaled like the rest: 0.6 s without a DATA frame from the runner.
    const proxy = await startIdleProxy(runner.port, 600);
    writeFileSync(file, `version: 1
name: remote
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')} }
targets:
  - { name: gpu, runner: "grpc://127.0.0.1:${proxy.port}", token_env: POOL_TOKEN }
`);
    try {
      // 2 s: 20 client keepalive intervals, more than 3 proxy idle timeouts.
      const r = await runCli(['runners', file, '--hold', '2', '--state-dir', path.join(dir, 'state')], { env: { ...scaled, POOL_TOKEN } });
      return { ...r, cut: proxy.cut };
    } finally {
      await proxy.close();
      await runner.stop();
    }
  };
  const ok = await check(100);
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /held a silent stage for 2 s: ok \(2\.\d s, \d+ heartbeat\(s\)\)/);
  assert.is(ok.cut, 0);
  // The control: heartbeats slower than the proxy's timeout, and the proxy ends the stage.
  const cut = await check(60_000);
  assert.is(cut.code, 3, cut.stdout + cut.stderr);
  assert.match(cut.stdout, /a silent stage of 2 s FAILED/);
  assert.ok(cut.cut >= 1, 'the proxy cut the idle stream');
});

t.run();
