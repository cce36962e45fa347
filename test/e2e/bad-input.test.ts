/** Bad input: one clear message, a documented exit code, no stack trace, nothing half-written. */
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

const dir = tempDir();
const pipeline = (model: string, extra = '') => `version: 1
name: bad
model: { path: ${model} }
data:
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
targets: [{ name: cpu }]
${extra}`;

function noStack(text: string) {
  assert.not.match(text, /\n\s+at .+:\d+:\d+/);
  assert.not.match(text, 'Traceback');
}

test('missing pipeline file: exit 2', async () => {
  const r = await runCli(['run', 'nope.yaml'], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'pipeline file not found: nope.yaml');
  noStack(r.stderr);
});

test('invalid YAML: exit 2 with file:line:col', async () => {
  writeFileSync(path.join(dir, 'broken.yaml'), 'version: 1\nname: x\nmodel: { path: a.onnx\n');
  const r = await runCli(['run', 'broken.yaml', '--state-dir', path.join(dir, 's1')], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, /^broken\.yaml:\d+:\d+ /m);
  noStack(r.stderr);
  assert.not.ok(existsSync(path.join(dir, 's1')), 'nothing written for an invalid pipeline');
});

test('model path that does not exist: exit 2, positioned', async () => {
  writeFileSync(path.join(dir, 'nomodel.yaml'), pipeline('./missing.onnx'));
  const r = await runCli(['run', 'nomodel.yaml'], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'nomodel.yaml:3:16  model.path: file not found:');
  noStack(r.stderr);
});

test('a model that is not ONNX: exit 2, names the file, no stack, no half-written run', async () => {
  writeFileSync(path.join(dir, 'fake.onnx'), 'definitely not a protobuf');
  writeFileSync(path.join(dir, 'fake.yaml'), pipeline('./fake.onnx'));
  const state = path.join(dir, 's2');
  const r = await runCli(['run', 'fake.yaml', '--state-dir', state], { cwd: dir });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /model .*fake\.onnx.*not an ONNX model/);
  noStack(r.stderr + r.stdout);
  const runs = readdirSync(path.join(state, 'runs'));
  assert.is(runs.length, 1);
  assert.ok(runs.every((x) => !x.startsWith('.')), 'no temporary run folder left');
});

test('evaluation data that does not match the model names the input', async () => {
  copyFileSync(path.join(EXAMPLES, 'transformer', 'eval.npz'), path.join(dir, 'wrong.npz'));
  writeFileSync(path.join(dir, 'wrongdata.yaml'), pipeline(path.join(EXAMPLES, 'digits', 'model.onnx')).replace(path.join(EXAMPLES, 'digits', 'eval.npz'), './wrong.npz'));
  const r = await runCli(['run', 'wrongdata.yaml', '--state-dir', path.join(dir, 's3')], { cwd: dir });
  assert.is(r.code, 2);
  assert.match(r.stderr, /input 'input' has shape \[537, 8, 8\], the model expects rank 4/);
  noStack(r.stderr);
});

test('unknown command: exit 2 with a suggestion', async () => {
  const r = await runCli(['rnu']);
  assert.is(r.code, 2);
  assert.match(r.stderr, "did you mean 'run'?");
});

test.run();
