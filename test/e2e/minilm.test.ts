/**
 * The real-transformer example end to end (issue 12): all-MiniLM-L6-v2 with its trained weights
 * (written by `npm run setup`), int8 with the example's calibration (minmax + SmoothQuant) on a
 * slice of its data, judged by embedding cosine and nearest-neighbour agreement.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

test('minilm: int8 with smoothing keeps the embeddings; attention MatMuls stay fp32 and say why', async () => {
  const dir = tempDir();
  const ex = path.join(EXAMPLES, 'minilm');
  const file = path.join(dir, 'minilm-ci.yaml');
  // The example as committed, on 32 calibration and 64 evaluation sentences, int8 only.
  writeFileSync(file, `version: 1
extends: ${path.join(ROOT, 'pipelines', 'minilm.yaml')}
name: minilm-ci
data:
  calibration: { npz: ${ex}/calib.npz, samples: 32 }
  evaluation: { npz: ${ex}/eval.npz, samples: 64 }
targets: [{ name: cpu, backend: onnxruntime }]
matrix: { precision: [int8], exclude: [] }
benchmark: { batch: [8], iterations: 2, warmup: 1 }
`);
  const state = path.join(dir, 'state');
  const r = await runCli(['run', file, '--state-dir', state]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const rec = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  const acc = rec.cells.find((c) => c.id === 'int8-cpu')!.accuracy;
  assert.ok(acc.cosine! >= 0.99, `int8 cosine ${acc.cosine}`);
  assert.ok(acc.nn_agreement! >= 0.85, `int8 nearest-neighbour agreement ${acc.nn_agreement}`);
  const calibrate = rec.stages['calibrate']!.details as { method: string; alpha: number; smoothed_tensors: number; device: string };
  assert.equal([calibrate.method, calibrate.alpha, calibrate.smoothed_tensors, calibrate.device], ['minmax', 0.8, 24, 'cpu']);
  const lock = rec.stages['transform@int8']!.details!.lock as { node: string; op: string; resolved: string; reason: string }[];
  const matmuls = lock.filter((row) => row.op === 'MatMul');
  assert.is(matmuls.filter((row) => row.resolved === 'int8').length, 36);
  const attention = matmuls.filter((row) => row.resolved === 'fp32');
  assert.is(attention.length, 12);
  assert.ok(attention.every((row) => row.reason === 'NOT_QUANTIZABLE' && /\/(scores|context)\/MatMul$/.test(row.node)));
});

test.run();
