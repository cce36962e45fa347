import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import { renderDiagnostic } from '../../src/config/render.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

const dir = tempDir();
const model = path.join(EXAMPLES, 'digits', 'model.onnx');
const evalNpz = path.join(EXAMPLES, 'digits', 'eval.npz');

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const valid = (extra = '') => `version: 1
name: t
model: { path: ${model} }
data:
  evaluation: { npz: ${evalNpz}, labels: labels }
targets:
  - { name: cpu }
${extra}`;

test('the quickstart pipeline loads with every default applied', async () => {
  const { pipeline, diagnostics } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  assert.equal(
    diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.ok(pipeline);
  assert.equal(pipeline.matrix.precision, ['fp32', 'fp16']);
  assert.equal(pipeline.matrix.target, ['cpu']);
  assert.equal(pipeline.targets[0]!.runners, ['local']);
  assert.equal(pipeline.precision.safety, { data_max: 512, init_max: 65504, reduction_depth: null });
  assert.equal(pipeline.precision.unquantized, 'fp32', 'no tensorrt target');
  assert.ok(path.isAbsolute(pipeline.model.path));
});

test('precision.unquantized: fp32 by default, TensorRT targets included (TensorRT 10.6 did not build fp16 leftovers), as written otherwise', async () => {
  const gpu = await loadPipeline(path.join(ROOT, 'examples', 'digits', 'gpu.yaml'));
  assert.equal(gpu.pipeline!.precision.unquantized, 'fp32');
  const file = write('unquantized.yaml', valid('precision:\n  unquantized: bf16\n'));
  const { pipeline, diagnostics } = await loadPipeline(file);
  assert.equal(
    diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  assert.equal(pipeline!.precision.unquantized, 'bf16');
});

test('fp16 leftovers of int8 on a TensorRT target are pointed out with what was measured, and not elsewhere', async () => {
  const calib = `  calibration: { npz: ${evalNpz} }\n`;
  const text = (targets: string, opset = '') => `version: 1
name: t
model: { path: ${model} }
data:
  evaluation: { npz: ${evalNpz}, labels: labels }
${calib}targets:
${targets}
matrix: { precision: [fp16, int8] }
precision:
  unquantized: fp16
${opset}`;
  const warned = async (file: string) =>
    (await loadPipeline(file)).diagnostics.filter((d) => d.code === 'slow-on-tensorrt').map((d) => d.message);
  const trt = '  - { name: gpu, backend: tensorrt }';
  assert.equal(await warned(write('trt19.yaml', text(trt))), ['on TensorRT 10.6, int8 ResNet-50 with fp16/bf16-scaled Q/DQ did not build']);
  assert.equal(await warned(write('trt17.yaml', text(trt, '  opset: 17\n'))), [
    'on TensorRT 10.6, int8 ResNet-50 with fp32 Q/DQ behind Casts ran 2.2x slower than fp16',
  ]);
  assert.equal(await warned(write('cpu.yaml', text('  - { name: cpu }'))), []);
});

test('an unknown key points at the key, with a suggestion', async () => {
  const file = write('unknown.yaml', valid('benchmark:\n  iteratons: 5\n'));
  const { pipeline, diagnostics } = await loadPipeline(file, dir);
  assert.not.ok(pipeline);
  assert.equal(diagnostics.length, 1);
  const d = diagnostics[0]!;
  assert.equal([d.line, d.col, d.path, d.code], [9, 3, 'benchmark.iteratons', 'unknown-key']);
  assert.equal(d.hint, "did you mean 'iterations'?");
});

test('a bad enum value gets a did-you-mean', async () => {
  const file = write('enum.yaml', valid('precision: { default: fp61 }\n'));
  const { diagnostics } = await loadPipeline(file, dir);
  const d = diagnostics[0]!;
  assert.equal([d.line, d.col, d.path], [8, 23, 'precision.default']);
  assert.match(d.hint!, "did you mean 'fp16'?");
});

test('YAML syntax errors carry line and column', async () => {
  const file = write('syntax.yaml', 'version: 1\nname: [unclosed\n');
  const { pipeline, diagnostics } = await loadPipeline(file, dir);
  assert.not.ok(pipeline);
  assert.equal(diagnostics[0]!.code, 'yaml-syntax');
  assert.equal(diagnostics[0]!.line, 3);
});

test('duplicate keys are rejected', async () => {
  const file = write('dup.yaml', valid('name: again\n'));
  const { diagnostics } = await loadPipeline(file, dir);
  assert.equal(diagnostics[0]!.code, 'duplicate-key');
  assert.equal(diagnostics[0]!.line, 8);
});

test('a missing model file is positioned at model.path', async () => {
  const file = write('nomodel.yaml', valid().replace(model, './missing.onnx'));
  const { diagnostics } = await loadPipeline(file, dir);
  const d = diagnostics.find((x) => x.code === 'not-found')!;
  assert.equal([d.line, d.path], [3, 'model.path']);
  assert.match(d.message, 'missing.onnx');
});

test('matrix targets must exist', async () => {
  const file = write('target.yaml', valid('matrix: { target: [cpuu] }\n'));
  const { diagnostics } = await loadPipeline(file, dir);
  const d = diagnostics[0]!;
  assert.equal([d.code, d.path, d.hint], ['unknown-target', 'matrix.target[0]', "did you mean 'cpu'?"]);
});

test('gpus: a list or all on a local target; on a remote-only target it is an error', async () => {
  const ok = await loadPipeline(write('gpus.yaml', valid().replace('{ name: cpu }', '{ name: cpu, gpus: [0, 1] }')), dir);
  assert.equal(ok.pipeline!.targets[0]!.gpus, [0, 1]);
  const all = await loadPipeline(write('gpus-all.yaml', valid().replace('{ name: cpu }', '{ name: cpu, gpus: all }')), dir);
  assert.is(all.pipeline!.targets[0]!.gpus, 'all');
  const remote = await loadPipeline(
    write('gpus-remote.yaml', valid().replace('{ name: cpu }', '{ name: cpu, runner: "grpc://h:50051", token_env: T, gpus: [0] }')),
    dir,
  );
  const d = remote.diagnostics.find((x) => x.code === 'gpus-remote')!;
  assert.equal([d.severity, d.path], ['error', 'targets[0].gpus']);
  const bad = await loadPipeline(write('gpus-bad.yaml', valid().replace('{ name: cpu }', '{ name: cpu, gpus: [-1] }')), dir);
  assert.ok(
    bad.diagnostics.some((x) => x.path === 'targets[0].gpus[0]' || x.path === 'targets[0].gpus'),
    JSON.stringify(bad.diagnostics),
  );
});

test('all errors come at once, in file order', async () => {
  const file = write('many.yaml', valid('precision: { default: fp61, io: kept }\nbenchmark: { batch: [0] }\n'));
  const { diagnostics } = await loadPipeline(file, dir);
  assert.equal(
    diagnostics.map((d) => d.path),
    ['precision.default', 'precision.io', 'benchmark.batch[0]'],
  );
});

test('rendered diagnostics show file:line:col and a caret', async () => {
  const file = write('render.yaml', valid('precision: { default: fp61 }\n'));
  const { diagnostics } = await loadPipeline(file, dir);
  const text = renderDiagnostic(diagnostics[0]!, undefined, dir);
  assert.match(text, /^render\.yaml:8:23  precision\.default: 'fp61' \(a string\) is not allowed here\. Did you mean 'fp16'\?/);
  assert.match(text, /\n  8 \| precision: \{ default: fp61 \}\n    \| {23}\^$/);
});

test.run();
