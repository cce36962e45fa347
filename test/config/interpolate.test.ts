/** `${VAR}` interpolation: shell semantics, escapes, errors, and typing of the result. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interpolate, retype } from '../../src/config/interpolate.js';
import { loadPipelineText } from '../../src/config/load.js';
import { EXAMPLES, ROOT } from '../helpers/paths.js';
import path from 'node:path';

const env = { HOST: 'gpu-1', EMPTY: '', N: '8' };

test('variables, defaults and escapes, shell style', () => {
  const cases: [string, string][] = [
    ['plain text', 'plain text'],
    ['grpc://${HOST}:50051', 'grpc://gpu-1:50051'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${HOST:-fallback}', 'gpu-1'],
    ['${EMPTY:-fallback}', 'fallback'], // :- also replaces an empty value
    ['[${EMPTY}]', '[]'], // set but empty, no default: empty
    ['$${HOST}', '${HOST}'], // escaped
    ['cost: $5 and ${N}', 'cost: $5 and 8'],
    ['${MISSING:-}', ''],
    ['${A:-x}${N}', 'x8'],
  ];
  for (const [input, want] of cases) {
    const r = interpolate(input, env);
    assert.equal(r.errors, [], input);
    assert.is(r.value, want, input);
  }
});

test('an unset variable without default, a bad name and an unclosed ${ are errors naming the text', () => {
  assert.equal(interpolate('a ${MISSING} b', env).errors.map((e) => [e.needle, e.message]), [['${MISSING}', 'environment variable MISSING is not set']]);
  assert.equal(interpolate('${1X}', env).errors.map((e) => e.needle), ['${1X}']);
  assert.equal(interpolate('${HOST', env).errors.map((e) => e.message), ["'${HOST' is not closed"]);
  assert.equal(interpolate('${}', env).errors.length, 1);
});

test('interpolated numbers and booleans are typed; text around them and !!str are not', () => {
  assert.is(retype('8'), 8);
  assert.is(retype('-1.5e3'), -1500);
  assert.is(retype('true'), true);
  assert.is(retype(''), '');
  assert.is(retype('null'), 'null');
  assert.is(retype('8x'), '8x');
  const file = path.join(ROOT, 'pipelines', 'inline.yaml');
  const model = path.join(EXAMPLES, 'digits', 'model.onnx');
  const data = path.join(EXAMPLES, 'digits', 'eval.npz');
  const text = `version: 1
name: n\${SUFFIX:-1}
model: { path: "\${MODEL}" }
data:
  evaluation:
    npz: \${DATA}
targets: [{ name: cpu }]
benchmark:
  iterations: "\${N}"
  warmup: \${N}
description: !!str \${N}
`;
  const r = loadPipelineText(text, file, { env: { MODEL: model, DATA: data, N: '8' } });
  assert.equal(r.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.is(r.pipeline!.name, 'n1');
  assert.is(r.pipeline!.benchmark.iterations, 8);
  assert.is(r.pipeline!.benchmark.warmup, 8);
  assert.is(r.pipeline!.description, '8');
  assert.is(r.pipeline!.model.path, model);
});

test.run();
