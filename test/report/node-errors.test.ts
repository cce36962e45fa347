/** Per-node errors (the localize stage) in explain --errors and report.html. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errorsSection } from '../../src/report/errors-section.js';
import { renderHtml } from '../../src/report/html.js';
import { renderErrors } from '../../src/report/node-errors-text.js';
import { cellErrors } from '../../src/report/node-errors.js';
import type { RunRecord } from '../../src/gen/schema/run-record.js';
import { runFixture } from '../helpers/fixtures.js';

/** The digits baseline with a localization of its fp16 cell, as the runner writes it (non-finite as strings). */
function localized(): RunRecord {
  const r = runFixture('baseline');
  const row = (
    node: string,
    op: string,
    index: number,
    rel: number | string,
    added: number | string,
    extra: Record<string, unknown> = {},
  ) => ({
    node,
    op,
    index,
    rel_error: rel,
    cosine: rel === 'inf' ? 0 : 1 - Number(rel) ** 2 / 2,
    max_abs: 0.5,
    nonfinite: rel === 'inf' ? 7 : 0,
    added,
    growth: added,
    worst_input: '',
    ...extra,
  });
  r.stages['localize@fp16-cpu'] = {
    stage: 'localize',
    target: 'cpu',
    cells: ['fp16-cpu'],
    status: 'done',
    params: {},
    seconds: 1.5,
    details: {
      nodes: [
        row('/features/conv1/Conv', 'Conv', 0, 1e-3, 1e-3, { impact: 2e-7 }),
        row('/features/relu1/Relu', 'Relu', 1, 1e-3, 0),
        row('/features/bn1/BatchNormalization', 'BatchNormalization', 2, 0.05, 0.049, { impact: 3e-3 }),
        row('/head/fc1/Gemm', 'Gemm', 8, 'inf', 'inf', { impact: 'inf' }),
        row('/Softmax', 'Softmax', 11, 'inf', 0),
      ],
      ranking: ['/head/fc1/Gemm', '/features/bn1/BatchNormalization'],
      first_crossing: row('/features/bn1/BatchNormalization', 'BatchNormalization', 2, 0.05, 0.049),
      tolerance: { cosine: 0.999 },
      uncaptured: { '/head/flatten/Flatten': 'not a tensor of the TensorRT network (the parser folded it)' },
      samples: 64,
      batches: 2,
      reference_device: 'cpu',
      backend: 'onnxruntime',
      capture: {},
      seconds: 1.25,
    },
  } as RunRecord['stages'][string];
  const explain = r.stages['build@fp16-cpu']!.details!.explain as { node: string; realized: string; reason: string }[];
  explain.find((e) => e.node === '/features/relu1/Relu')!.reason = 'FUSED';
  return r;
}

test('cellErrors reads the stage: numbers (inf included), ranking by added error, realized precision, fused nodes', () => {
  const e = cellErrors(localized(), 'fp16-cpu')!;
  assert.is(e.cell, 'digits@fp16-cpu');
  assert.equal(e.ranked.map((n) => n.node).slice(0, 3), ['/head/fc1/Gemm', '/features/bn1/BatchNormalization', '/features/conv1/Conv']);
  assert.is(e.ranked[0]!.added, Infinity);
  assert.is(e.firstCrossing!.node, '/features/bn1/BatchNormalization');
  assert.is(e.nodes[0]!.realized, 'fp32'); // ONNX Runtime CPU computed it in fp32 (explain)
  assert.ok(e.nodes[1]!.fusedInBuild && !e.nodes[0]!.fusedInBuild);
  assert.is(e.tolerance, 0.999);
  assert.is(cellErrors(localized(), 'fp32-cpu'), undefined, 'an fp32 cell is never localized');
});

test('explain --errors text: the first node past the tolerance, the top nodes, fused and uncaptured ones said', () => {
  const text = renderErrors(cellErrors(localized(), 'fp16-cpu')!, false);
  assert.match(text, 'digits@fp16-cpu: 5 nodes localized on 64 samples in 1.25 s (onnxruntime)');
  assert.match(
    text,
    'first node past the tolerance (cosine 0.999): /features/bn1/BatchNormalization (BatchNormalization, ran in fp32): cosine 0.99875, adds 0.049',
  );
  assert.match(text, /\/head\/fc1\/Gemm\s+Gemm\s+fp32\s+∞\s+∞\s+∞\s+0\s+0\.5\s+7/);
  assert.match(text, /\/features\/relu1\/Relu\s+Relu\s+fp32\*/);
  assert.match(text, '*: fused into another layer in the built engine; measured unfused');
  assert.match(text, 'not captured: 1 node(s), e.g. /head/flatten/Flatten (not a tensor of the TensorRT network');
  const all = renderErrors(cellErrors(localized(), 'fp16-cpu')!, true);
  assert.ok(all.indexOf('/features/conv1/Conv') < all.indexOf('/Softmax'), '--all: graph order');
});

test('report.html: a section with the error along the graph and the top nodes; none without localization', () => {
  const r = localized();
  const html = renderHtml(r, { history: [] });
  assert.match(html, '<section id="errors"><h2>Where the error comes from</h2>');
  const section = errorsSection(r);
  assert.is((section.match(/<circle class="dot"/g) ?? []).length, 3, 'finite nodes as dots');
  assert.is((section.match(/<path class="nonfinite"/g) ?? []).length, 2, 'NaN/Inf nodes as triangles');
  assert.match(section, '<line class="tolerance"');
  assert.match(section, '<line class="first"');
  assert.match(section, 'first past the tolerance: <code>/features/bn1/BatchNormalization</code>');
  assert.not.match(renderHtml(runFixture('baseline'), { history: [] }), 'id="errors"');
  assert.is(errorsSection(runFixture('baseline')), '');
});

test.run();
