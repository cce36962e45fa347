/**
 * One local runner per GPU (`gpus:`), on a host without GPUs: the GPU ids are
 * pretended with TRTPIPE_GPUS (what `gpus: all` finds), the runners compute
 * on the CPU with ONNX Runtime, and what is checked is what trtpipe does with
 * them: each runner pinned with CUDA_VISIBLE_DEVICES and given its share of
 * the cores, and the cells spread over them (run.json's runner per stage).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostGpus, targetPins, threadBudget } from '../../src/run/local-gpus.js';
import { spawnLocalRunner } from '../../src/runner-client/local-runner.js';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

function pipeline(dir: string, gpus: string): string {
  const file = path.join(dir, 'gpus.yaml');
  writeFileSync(
    file,
    `version: 1
name: gpus
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  calibration: { npz: ${path.join(EXAMPLES, 'digits', 'calib.npz')} }
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
targets:
  - { name: multi, runner: local, gpus: ${gpus} }
matrix: { precision: [fp32, fp16, int8] }
benchmark: { warmup: 0, iterations: 5 }
`,
  );
  return file;
}

test('gpus: all starts one local runner per GPU and spreads the cells over them', async () => {
  const dir = tempDir();
  const state = path.join(dir, 'state');
  const r = await runCli(['run', pipeline(dir, 'all'), '--state-dir', state], { env: { TRTPIPE_GPUS: '0,1' } });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const rec = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  assert.ok(rec.cells.every((c) => c.status === 'ok'));
  const runners = Object.values(rec.stages).map((s) => s.runner);
  assert.equal([...new Set(runners)].sort(), ['local:gpu0', 'local:gpu1'], `stages ran on ${runners.join(', ')}`);
  assert.is(rec.runners.multi!.address, 'local:gpu0,local:gpu1');
  assert.equal(Object.keys(rec.runners.multi!.gpusByRunner ?? {}).sort(), ['local:gpu0', 'local:gpu1']);
  // Each cell's provenance names the runner of each of its stages.
  for (const cell of rec.cells)
    assert.ok(
      cell.provenance!.stages.every((s) => s.runner?.startsWith('local:gpu')),
      JSON.stringify(cell.provenance!.stages),
    );
});

test('a pinned local runner gets CUDA_VISIBLE_DEVICES and its thread budget in its environment', async () => {
  const runner = await spawnLocalRunner({ storeDir: path.join(tempDir(), 'store'), cudaVisibleDevices: '1', threads: 3 });
  try {
    const env = Object.fromEntries(
      readFileSync(`/proc/${runner.process.pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((kv) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]),
    );
    assert.is(env.CUDA_VISIBLE_DEVICES, '1');
    assert.is(env.TRTPIPE_RUNNER_THREADS, '3');
    assert.is(env.OMP_NUM_THREADS, '3');
  } finally {
    await runner.stop();
  }
});

test('which GPUs `all` means: TRTPIPE_GPUS, else the GPUs this process was given, else nvidia-smi', () => {
  const t = { name: 'g', runners: ['local'], gpus: 'all' as const };
  assert.equal(targetPins(t, { TRTPIPE_GPUS: '2, 3' }), ['2', '3']);
  assert.equal(targetPins(t, { CUDA_VISIBLE_DEVICES: '1,0' }), ['1', '0']);
  assert.equal(targetPins({ ...t, gpus: [0, 1] }, {}), ['0', '1']);
  assert.equal(targetPins({ name: 'g', runners: ['local'] }, {}), ['']);
  assert.equal(targetPins({ name: 'r', runners: ['grpc://h:1'], gpus: [0] }, {}), []);
  // This host has no nvidia-smi (CI): `all` finds nothing and says how to name GPUs instead.
  if (hostGpus({ PATH: process.env.PATH }).ids.length === 0) {
    assert.throws(() => targetPins(t, { PATH: process.env.PATH }), /gpus: all, but no GPU was found .*TRTPIPE_GPUS/);
  }
});

test('the cores are split between local runners side by side; one alone keeps the defaults', () => {
  assert.is(threadBudget(1, 16), undefined);
  assert.is(threadBudget(2, 16), 8);
  assert.is(threadBudget(4, 16), 4);
  assert.is(threadBudget(3, 2), 1);
});

test.run();
