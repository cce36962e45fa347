/** The pipeline-language commands through the real CLI: validate, plan, init (with a real runner), schema, help. */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCHEMA_PATH } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

const dir = tempDir();
const noStack = (text: string) => assert.not.match(text, /\n\s+at .+:\d+:\d+/);

test('validate with no arguments checks every pipeline in pipelines/: exit 0 and a summary', async () => {
  const r = await runCli(['validate'], { cwd: ROOT });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^pipelines\/quickstart\.yaml +ok$/m);
  assert.match(r.stdout, /^\d+ files: \d+ valid$/m);
});

test('validate of a broken pipeline: exit 2, file:line:col, key path, hint and a code frame', async () => {
  const file = path.join('test', 'fixtures', 'invalid', 'precision-default-typo.yaml');
  const r = await runCli(['validate', file], { cwd: ROOT });
  assert.is(r.code, 2);
  assert.match(r.stdout, `${file}:11:23  precision.default: 'fp61' (a string) is not allowed here. Did you mean 'fp16'?`);
  assert.match(r.stdout, /\n  11 \| precision: \{ default: fp61 \}\n     \| {23}\^\n/);
  assert.match(r.stdout, '1 file: 0 valid, 1 invalid (1 error)');
  noStack(r.stdout + r.stderr);
});

test('validate --json: every diagnostic as data', async () => {
  const r = await runCli(['validate', '--json', path.join('test', 'fixtures', 'invalid', 'interp-two-unset.yaml'), 'pipelines/quickstart.yaml'], { cwd: ROOT });
  assert.is(r.code, 2);
  const out = JSON.parse(r.stdout) as { files: { file: string; valid: boolean; diagnostics: { line: number; col: number; code: string }[] }[] };
  assert.equal(out.files.map((f) => f.valid), [false, true]);
  assert.equal(out.files[0]!.diagnostics.map((d) => [d.line, d.col, d.code]), [[13, 15, 'interpolation'], [13, 39, 'interpolation'], [14, 23, 'interpolation']]);
});

test('validate of a file that does not exist, and with an unknown option: exit 2', async () => {
  const missing = await runCli(['validate', 'nope.yaml'], { cwd: dir });
  assert.is(missing.code, 2);
  assert.match(missing.stdout, /nope\.yaml +pipeline file not found: nope\.yaml/);
  const option = await runCli(['validate', '--strictest'], { cwd: ROOT });
  assert.is(option.code, 2);
  assert.match(option.stderr, "Unknown option '--strictest'");
});

test('plan: cells, the stage graph in order, and what is cached; keys that need the runner are unknown', async () => {
  const r = await runCli(['plan', path.join(ROOT, 'pipelines', 'quickstart.yaml'), '--state-dir', path.join(dir, 'state')], { cwd: dir });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}digits@fp16-cpu +fp16 +cpu +\(onnxruntime, local\)$/m);
  assert.match(r.stdout, /^ {2}build@fp16-cpu +cpu +transform@fp16 +- +unknown until the runner of 'cpu' is asked$/m);
  assert.match(r.stdout, /^ {2}inspect +cpu +[0-9a-f]{12} +to run$/m);
  assert.match(r.stdout, 'every stage will run');
});

test('plan of an invalid pipeline: exit 2 with the diagnostics; without a file: usage, exit 2', async () => {
  const bad = await runCli(['plan', path.join(ROOT, 'test', 'fixtures', 'invalid', 'matrix-unknown-target.yaml')], { cwd: ROOT });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "matrix.target[0]: no target is named 'cpuu'. Did you mean 'cpu'?");
  const usage = await runCli(['plan'], { cwd: ROOT });
  assert.is(usage.code, 2);
  assert.match(usage.stderr, 'usage: trtpipe plan <pipeline.yaml>');
});

test('init: the runner inspects the model; the starter has its real inputs, validates, and is never overwritten', async () => {
  const models = path.join(dir, 'models', 'digits');
  mkdirSync(models, { recursive: true });
  for (const f of ['model.onnx', 'eval.npz', 'calib.npz']) copyFileSync(path.join(EXAMPLES, 'digits', f), path.join(models, f));
  const state = path.join(dir, 'init-state');
  const r = await runCli(['init', 'models/digits/model.onnx', '--state-dir', state], { cwd: dir });
  assert.is(r.code, 0, r.stdout + r.stderr);
  const out = path.join(dir, 'pipelines', 'digits.yaml');
  assert.match(r.stdout, 'wrote pipelines/digits.yaml: inputs input float32 [batch, 1, 8, 8]; evaluation data models/digits/eval.npz (labels: labels)');
  const text = readFileSync(out, 'utf8');
  // This checkout is not part of the temporary project: an absolute path into it would break on every other clone.
  assert.not.match(text, 'yaml-language-server');
  assert.match(r.stdout, 'note: no schema line for editors: trtpipe is not installed in this project');
  assert.match(text, '    input: { min: [1, 1, 8, 8], opt: [8, 1, 8, 8], max: [32, 1, 8, 8] }');
  assert.match(text, '  evaluation: { npz: ../models/digits/eval.npz, labels: labels }');
  assert.match(text, '  calibration: { npz: ../models/digits/calib.npz }');
  const v = await runCli(['validate', 'pipelines/digits.yaml'], { cwd: dir });
  assert.is(v.code, 0, v.stdout);
  const again = await runCli(['init', 'models/digits/model.onnx', '--state-dir', state], { cwd: dir });
  assert.is(again.code, 2);
  assert.match(again.stderr, 'pipelines/digits.yaml already exists; trtpipe init never overwrites a file');
  assert.is(readFileSync(out, 'utf8'), text);
});

test('init of a file that is not ONNX: exit 2, names the model, no stack; of a missing file: exit 2 before any runner', async () => {
  writeFileSync(path.join(dir, 'fake.onnx'), 'not a protobuf at all');
  const r = await runCli(['init', 'fake.onnx', '-o', 'fake.yaml', '--state-dir', path.join(dir, 'init-state')], { cwd: dir });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /model fake\.onnx: .*not an ONNX model/);
  assert.not.ok(existsSync(path.join(dir, 'fake.yaml')));
  noStack(r.stderr);
  const missing = await runCli(['init', 'missing.onnx'], { cwd: dir });
  assert.is(missing.code, 2);
  assert.match(missing.stderr, 'model not found: missing.onnx');
});

test('schema prints the committed schema; help lists every command', async () => {
  const s = await runCli(['schema']);
  assert.is(s.code, 0);
  assert.is(s.stdout, readFileSync(SCHEMA_PATH, 'utf8'));
  const h = await runCli(['--help']);
  for (const c of ['run <pipeline.yaml>', 'validate [paths...]', 'plan <pipeline.yaml>', 'init <model.onnx>', 'schema']) assert.match(h.stdout, c);
});

test.run();
