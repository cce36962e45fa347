/**
 * Pieces of the pipeline language: extends (merge rules, paths relative to
 * the file they are written in), version ranges, Python regexes, paths in
 * messages, the starter pipeline of `trtpipe init`, .npz array names.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { showPath } from '../../src/config/diagnostics.js';
import { loadPipeline, loadPipelineText } from '../../src/config/load.js';
import { regexProblem } from '../../src/config/semantic-precision.js';
import { nameFromModel, starterPipeline } from '../../src/config/starter.js';
import { intersect, isEmpty, overlaps, parseRange } from '../../src/config/version-range.js';
import { npzKeys } from '../../src/store/npz-keys.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

const dir = tempDir();
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
};
const digits = (f: string) => path.join(EXAMPLES, 'digits', f);

test('extends: mappings merge key by key, lists and scalars replace, paths stay relative to their own file', async () => {
  write('base/data/eval.npz', '');
  write('base/base.yaml', `version: 1
name: base
model: { path: ${digits('model.onnx')} }
data:
  evaluation: { npz: data/eval.npz, samples: 100 }
targets: [{ name: cpu }, { name: cpu2, numerics: emulated }]
precision: { default: fp16, safety: { data_max: 1000 } }
benchmark: { batch: [1, 32], warmup: 5 }
`);
  const child = write('child/child.yaml', `extends: ../base/base.yaml
name: child
data:
  evaluation: { samples: 10 }
targets: [{ name: only }]
precision: { safety: { init_max: 100 } }
benchmark: { batch: [8] }
`);
  const { pipeline, diagnostics } = await loadPipeline(child, dir);
  assert.equal(diagnostics.filter((d) => d.severity === 'error'), []);
  const p = pipeline!;
  assert.is(p.name, 'child');
  assert.is(p.data.evaluation.npz, path.join(dir, 'base', 'data', 'eval.npz'), 'relative to base.yaml, not child.yaml');
  assert.is(p.data.evaluation.samples, 10);
  assert.equal(p.targets.map((t) => t.name), ['only'], 'lists replace');
  assert.equal(p.precision.safety, { data_max: 1000, init_max: 100, reduction_depth: null }, 'maps merge');
  assert.is(p.precision.default, 'fp16');
  assert.equal(p.benchmark.batch, [8]);
  assert.is(p.benchmark.warmup, 5);
  assert.equal(p.bases, [path.join(dir, 'base', 'base.yaml')]);
  assert.is(p.file, child);
});

test('extends: an inherited value that is wrong is reported in the base file, at its line', async () => {
  write('b2/base.yaml', 'version: 1\nname: base\nmodel: { path: model.onnx }\ndata: { evaluation: { npz: eval.npz } }\ntargets: [{ name: cpu }]\n');
  const child = write('b2/child.yaml', `extends: base.yaml\nname: child\n`);
  const { diagnostics } = await loadPipeline(child, dir);
  assert.equal(diagnostics.map((d) => [d.file, d.line, d.col, d.path]), [
    [path.join('b2', 'base.yaml'), 3, 16, 'model.path'],
    [path.join('b2', 'base.yaml'), 4, 28, 'data.evaluation.npz'],
  ]);
});

test('version ranges: comparators AND together; a bare version is a prefix', () => {
  assert.not.ok(isEmpty(parseRange('>=10.12 <12')));
  assert.ok(isEmpty(parseRange('>=12 <10')));
  assert.ok(isEmpty(parseRange('>10 <10')));
  assert.not.ok(isEmpty(parseRange('>=10 <=10')));
  assert.ok(overlaps('10', '>=10.12'));
  assert.not.ok(overlaps('10', '>=11'));
  assert.ok(overlaps('>=10.12, <12', '11.0.1'));
  assert.ok(isEmpty(intersect(parseRange('<8.0'), parseRange('>=8.0'))));
  assert.not.ok(isEmpty(intersect(parseRange('==8.9'), parseRange('>=8.9'))));
});

test('name_regex is checked with Python spellings translated', () => {
  assert.is(regexProblem('(?P<block>blocks\\.\\d+)/attn/(?P=block)'), undefined);
  assert.is(regexProblem('(?i)^head/'), undefined);
  assert.is(regexProblem('a\\-b'), undefined);
  assert.match(regexProblem('head/(fc')!, /unterminated group/i);
  assert.ok(regexProblem('*bad'));
});

test('paths in messages are relative to the working folder, through .. when needed', () => {
  assert.is(showPath('/srv/repo', '/srv/repo/pipelines/a.yaml'), path.join('pipelines', 'a.yaml'));
  assert.is(showPath('/srv/repo/test', '/srv/repo/examples/x.npz'), path.join('..', 'examples', 'x.npz'));
  assert.is(showPath('/srv/repo', '/tmp/x.yaml'), '/tmp/x.yaml');
});

test('the starter pipeline validates for dynamic batch and sequence dimensions, odd input names included', () => {
  const text = starterPipeline({
    name: 'bert-ish',
    model: digits('model.onnx'),
    modelShown: 'model.onnx',
    schema: '../pipelines/schema/pipeline.schema.json',
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] },
      { name: 'attention.mask:0', dtype: 'int64', shape: ['batch', 'seq'] },
      { name: 'true', dtype: 'float32', shape: [1, 3] },
    ],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 2] }],
    opCounts: { MatMul: 24, Softmax: 12, LayerNormalization: 25, Add: 40 },
    opset: 17,
  });
  const r = loadPipelineText(text, path.join(dir, 'starter.yaml'), { env: {} });
  assert.equal(r.diagnostics.filter((d) => d.severity === 'error'), [], text);
  const inputs = r.pipeline!.model.inputs;
  assert.equal(inputs.input_ids, { min: [1, 1], opt: [8, 64], max: [32, 256] });
  assert.ok(inputs['attention.mask:0'], 'a name with . and : survives');
  assert.not.ok(inputs.true, 'fully static inputs need no range');
  assert.match(text, '# op types in this model: Add 40, LayerNormalization 25, MatMul 24, Softmax 12');
  assert.match(text, /#   - match: \{ op: \[LayerNormalization, Softmax\] \}/);
  assert.ok(r.diagnostics.some((d) => d.code === 'synthetic-data'), 'synthetic data is flagged until real data is given');
});

test('pipeline names from model paths', () => {
  assert.is(nameFromModel('/x/examples/digits/model.onnx'), 'digits');
  assert.is(nameFromModel('ResNet50_v1.5.onnx'), 'resnet50_v1.5');
  assert.is(nameFromModel('/m/__Weird Name!!.onnx'), 'weird-name-');
});

test('.npz array names come from the zip directory', () => {
  assert.equal(npzKeys(digits('eval.npz')), ['input', 'labels']);
  assert.equal(npzKeys(digits('calib.npz')), ['input']);
  assert.is(npzKeys(digits('model.onnx')), undefined);
});

test.run();
