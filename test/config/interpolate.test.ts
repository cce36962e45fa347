/** `${VAR}` interpolation: shell semantics, escapes, errors, and typing of the result. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interpolate, retype } from '../../src/config/interpolate.js';
import { loadPipelineText } from '../../src/config/load.js';
import { EXAMPLES, ROOT } from '../helpers/paths.js';
import path from 'node:path';

const env = { TRTPIPE_HOST: 'gpu-1', TRTPIPE_EMPTY: '', TRTPIPE_N: '8', HOME: '/home/someone' };

test('variables, defaults and escapes, shell style', () => {
  const cases: [string, string][] = [
    ['plain text', 'plain text'],
    ['grpc://${TRTPIPE_HOST}:50051', 'grpc://gpu-1:50051'],
    ['${TRTPIPE_MISSING:-fallback}', 'fallback'],
    ['${TRTPIPE_HOST:-fallback}', 'gpu-1'],
    ['${TRTPIPE_EMPTY:-fallback}', 'fallback'], // :- also replaces an empty value
    ['[${TRTPIPE_EMPTY}]', '[]'], // set but empty, no default: empty
    ['$${TRTPIPE_HOST}', '${TRTPIPE_HOST}'], // escaped
    ['cost: $5 and ${TRTPIPE_N}', 'cost: $5 and 8'],
    ['${TRTPIPE_MISSING:-}', ''],
    ['${TRTPIPE_A:-x}${TRTPIPE_N}', 'x8'],
  ];
  for (const [input, want] of cases) {
    const r = interpolate(input, env);
    assert.equal(r.errors, [], input);
    assert.is(r.value, want, input);
  }
});

test('an unset variable without default, a bad name and an unclosed ${ are errors naming the text', () => {
  assert.equal(interpolate('a ${TRTPIPE_MISSING} b', env).errors.map((e) => [e.needle, e.message]), [['${TRTPIPE_MISSING}', 'environment variable TRTPIPE_MISSING is not set']]);
  assert.equal(interpolate('${1X}', env).errors.map((e) => e.needle), ['${1X}']);
  assert.equal(interpolate('${TRTPIPE_HOST', env).errors.map((e) => e.message), ["'${TRTPIPE_HOST' is not closed"]);
  assert.equal(interpolate('${}', env).errors.length, 1);
});

test('issue 13 item 4: only TRTPIPE_ variables are read; another name is an error that never shows its value', () => {
  const r = interpolate('why: ${HOME}', env);
  assert.equal(r.errors.map((e) => e.message), ["'${HOME}': only environment variables whose names start with TRTPIPE_ are read"]);
  assert.not.match(JSON.stringify(r), '/home/someone');
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
name: n\${TRTPIPE_SUFFIX:-1}
model: { path: "\${TRTPIPE_MODEL}" }
data:
  evaluation:
    npz: \${TRTPIPE_DATA}
targets: [{ name: cpu }]
benchmark:
  iterations: "\${TRTPIPE_N}"
  warmup: \${TRTPIPE_N}
description: !!str \${TRTPIPE_N}
`;
  const r = loadPipelineText(text, file, { env: { TRTPIPE_MODEL: model, TRTPIPE_DATA: data, TRTPIPE_N: '8' } });
  assert.equal(r.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.is(r.pipeline!.name, 'n1');
  assert.is(r.pipeline!.benchmark.iterations, 8);
  assert.is(r.pipeline!.benchmark.warmup, 8);
  assert.is(r.pipeline!.description, '8');
  assert.is(r.pipeline!.model.path, model);
});

test.run();
