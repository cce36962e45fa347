/**
 * A model saved with ONNX external data (the digits model with every weight
 * forced into weights.bin) end to end through `trtpipe run` on the local
 * runner: all its files travel, its identity covers every byte, and data files
 * outside the model's folder are refused before anything runs.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolvePython } from '../../src/runner-client/local-runner.js';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

/**
 * Saves the digits model into `dir` with its tensors in weights.bin; `location`, when given, is then
 * written into the .onnx in place of that name (a model pointing somewhere onnx itself would not save to).
 */
function externalModel(dir: string, location?: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'model.onnx');
  execFileSync(resolvePython(), ['-c', `
import onnx, sys
m = onnx.load(sys.argv[1])
onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
if sys.argv[3]:
    m = onnx.load(sys.argv[2], load_external_data=False)
    for t in m.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = sys.argv[3]
    open(sys.argv[2], "wb").write(m.SerializeToString())
`, path.join(EXAMPLES, 'digits', 'model.onnx'), file, location ?? '']);
  return file;
}

function pipeline(dir: string, model: string): string {
  for (const f of ['calib.npz', 'eval.npz']) copyFileSync(path.join(EXAMPLES, 'digits', f), path.join(dir, f));
  const file = path.join(dir, 'ext.yaml');
  writeFileSync(file, `version: 1
name: ext
model: { path: ${model} }
data:
  calibration: { npz: calib.npz }
  evaluation: { npz: eval.npz, labels: labels }
targets:
  - { name: cpu, runner: local, backend: onnxruntime }
matrix: { precision: [fp32, int8] }
benchmark: { batch: [1], warmup: 2, iterations: 5 }
`);
  return file;
}

test('a model with external data runs end to end; its key covers the data file', async () => {
  const dir = tempDir();
  const model = externalModel(path.join(dir, 'model'));
  const file = pipeline(dir, model);
  const state = path.join(dir, 'state');
  const r = await runCli(['run', file, '--state-dir', state]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const runId = readdirSync(path.join(state, 'runs'))[0]!;
  const record = JSON.parse(readFileSync(path.join(state, 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
  assert.ok(record.cells.every((c) => c.status === 'ok'), JSON.stringify(record.cells.map((c) => c.status)));
  const fp32 = record.cells.find((c) => c.precision === 'fp32')!.accuracy;
  assert.ok(fp32.top1! > 0.9 && fp32.cosine! > 0.999999, JSON.stringify(fp32));
  // The annotated model keeps its weights outside too: a manifest with its .onnx and data file.
  const annotated = record.stages['transform@int8']!.outputs!.model as { mediaType: string; parts?: unknown[] };
  assert.is(annotated.mediaType, 'application/vnd.trtpipe.model+json');
  assert.is(annotated.parts?.length, 2);

  const verify = await runCli(['cache', 'verify', '--state-dir', state]);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, / 0 corrupt/);

  const plan = async () => {
    const p = await runCli(['plan', file, '--state-dir', state, '--json']);
    assert.is(p.code, 0, p.stderr);
    return new Map((JSON.parse(p.stdout) as { stages: { id: string; status: string; key?: string }[] }).stages.map((s) => [s.id, s]));
  };
  const before = await plan();
  assert.is(before.get('inspect')!.status, 'cached');
  // Only the data file changes (one weight), not the .onnx.
  const weights = path.join(dir, 'model', 'weights.bin');
  const bytes = readFileSync(weights);
  bytes[0] = bytes[0]! ^ 0x40;
  writeFileSync(weights, bytes);
  const after = await plan();
  for (const id of ['inspect', 'reference', 'transform@int8']) {
    assert.is(after.get(id)!.status, 'to-run', id);
    assert.is.not(after.get(id)!.key, before.get(id)!.key, id);
  }
});

test('init inspects a model with external data', async () => {
  const dir = tempDir();
  const model = externalModel(path.join(dir, 'model'));
  const r = await runCli(['init', model, '-o', path.join(dir, 'starter.yaml'), '--state-dir', path.join(dir, 'state')]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(readFileSync(path.join(dir, 'starter.yaml'), 'utf8'), '# input input: float32');
});

test('external data outside the model folder is refused before anything runs', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'outside.bin'), Buffer.alloc(4096));
  const cases: [string, string][] = [
    ['../outside.bin', "which leaves the model's folder (..)"],
    [path.join(dir, 'outside.bin'), 'which is absolute'],
    ['escape.bin', `which is a link to ${path.join(dir, 'outside.bin')}, outside the model's folder`],
  ];
  for (const [i, [location, why]] of cases.entries()) {
    const folder = path.join(dir, `case${i}`);
    const model = externalModel(path.join(folder, 'model'), location);
    if (location === 'escape.bin') symlinkSync(path.join(dir, 'outside.bin'), path.join(folder, 'model', 'escape.bin'));
    const r = await runCli(['run', pipeline(folder, model), '--state-dir', path.join(folder, 'state')]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, `tensor 'features.conv1.weight' stores its data at '${location}', ${why}`);
    assert.not.ok(existsSync(path.join(folder, 'state', 'runner-store')), 'no runner started, nothing uploaded');
  }
});

test.run();
