/** RunnerClient against a real Python runner spawned on loopback. */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnLocalRunner, type LocalRunner } from '../../src/runner-client/local-runner.js';
import { PROTOCOL } from '../../src/runner-client/protocol.js';
import { RunnerCallError } from '../../src/runner-client/runner-call-error.js';
import { RunnerClient } from '../../src/runner-client/runner-client.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

const t = suite<{ runner: LocalRunner; client: RunnerClient; dir: string }>('runner-client');

t.before(async (ctx) => {
  ctx.dir = tempDir();
  ctx.runner = await spawnLocalRunner({ storeDir: path.join(ctx.dir, 'store') });
  ctx.client = new RunnerClient(ctx.runner.address, { token: ctx.runner.token });
});

t.after(async (ctx) => {
  ctx.client.close();
  await ctx.runner.stop();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t('health and capabilities', async ({ client }) => {
  assert.ok(await client.healthy());
  const caps = await client.getCapabilities();
  assert.is(caps.protocol, PROTOCOL);
  assert.ok(caps.backends.find((b) => b.name === 'onnxruntime')?.available);
});

t('upload, has, download round-trip a multi-chunk file', async ({ client, dir }) => {
  const data = randomBytes(2.5 * (1 << 20));
  const file = path.join(dir, 'blob.bin');
  writeFileSync(file, data);
  const ref = { sha256: sha(data), size: data.length, mediaType: 'application/octet-stream' };
  assert.is(await client.putArtifact(file, ref), false);
  assert.is(await client.putArtifact(file, ref), true, 'second upload: already present');
  assert.equal([...(await client.hasArtifacts([ref.sha256, '0'.repeat(64)]))], [ref.sha256]);
  const dest = path.join(dir, 'back.bin');
  await client.getArtifact(ref.sha256, dest);
  assert.ok(readFileSync(dest).equals(data));
});

t('a wrong hash is refused with DATA_LOSS and the runner detail', async ({ client, dir }) => {
  const file = path.join(dir, 'lie.bin');
  writeFileSync(file, 'some bytes');
  try {
    await client.putArtifact(file, { sha256: 'f'.repeat(64), size: 10, mediaType: '' });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.instance(err, RunnerCallError);
    const e = err as RunnerCallError;
    assert.is(e.code, status.DATA_LOSS);
    assert.is(e.detail?.code, 'INTEGRITY');
    assert.is(e.method, 'PutArtifact');
  }
});

t('a wrong token is UNAUTHENTICATED', async ({ runner }) => {
  const bad = new RunnerClient(runner.address, { token: 'nope' });
  try {
    await bad.getCapabilities();
    assert.unreachable();
  } catch (err) {
    assert.is((err as RunnerCallError).code, status.UNAUTHENTICATED);
  } finally {
    bad.close();
  }
});

t('runStage streams progress and returns the result', async ({ client }) => {
  const model = readFileSync(path.join(EXAMPLES, 'digits', 'model.onnx'));
  const ref = { sha256: sha(model), size: model.length, mediaType: 'application/onnx' };
  await client.putArtifact(path.join(EXAMPLES, 'digits', 'model.onnx'), ref);
  const result = await client.runStage({ stage: 'inspect', cell: 't', inputs: { model: ref }, params: {} }, () => {});
  const details = result.details as { node_count: number };
  assert.is(details.node_count, 12);
});

t('aborting a stage cancels it on the runner', async ({ client, dir }) => {
  const put = async (file: string) => {
    const b = readFileSync(file);
    const ref = { sha256: sha(b), size: b.length, mediaType: '' };
    await client.putArtifact(file, ref);
    return ref;
  };
  const model = await put(path.join(EXAMPLES, 'digits', 'model.onnx'));
  const data = await put(path.join(EXAMPLES, 'digits', 'eval.npz'));
  // Every key the orchestrator sends (the runner takes no defaults: proto/trtpipe/runner/v1/contract/).
  const policy = {
    default: 'fp32',
    io: 'keep',
    rules: [],
    safety: { data_max: 512, init_max: 65504, reduction_depth: null },
    unquantized: 'fp32',
  };
  const calibration = { method: 'entropy', percentile: 99.99, per_channel: true };
  const ort = { backend: 'onnxruntime', opt_level: 'all', threads: 0 };
  const t1 = await client.runStage({ stage: 'transform', cell: 't', inputs: { model }, params: { policy, calibration } }, () => {});
  const b = await client.runStage(
    { stage: 'build', cell: 't', inputs: { model: t1.outputs.model! }, params: { ...ort, numerics: 'native', precision: 'fp32' } },
    () => {},
  );
  const controller = new AbortController();
  const call = client.runStage(
    {
      stage: 'benchmark',
      cell: 't',
      inputs: { engine: b.outputs.engine!, eval_data: data },
      params: { ...ort, eval_data: {}, batches: [1], warmup: 0, warmup_seconds: 0.2, iterations: 1e8, max_seconds: 600 },
    },
    () => controller.abort(),
    { signal: controller.signal },
  );
  try {
    await call;
    assert.unreachable();
  } catch (err) {
    assert.is((err as RunnerCallError).code, status.CANCELLED);
  }
  // The runner is free again: a new call completes.
  assert.ok(await client.healthy());
  void dir;
});

t.run();
