/**
 * The precision figures the reports and explain print: what ran rather than
 * what was asked, shares that add up, similarities that are not rounded to 1,
 * and an accuracy chart that fits a model without labels.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { explainCell } from '../../src/report/explain.js';
import { fmtSimilarity } from '../../src/report/format.js';
import { renderHtml } from '../../src/report/html.js';
import { renderRunMarkdown } from '../../src/report/markdown.js';
import { describeLowPrecision } from '../../src/report/summary.js';
import { runFixture } from '../helpers/fixtures.js';

test('a similarity is printed with the digits that tell it from 1', () => {
  assert.is(fmtSimilarity(0.99999993), '0.99999993');
  assert.is(fmtSimilarity(0.999351), '0.999351');
  assert.is(fmtSimilarity(0.322984), '0.322984');
  assert.is(fmtSimilarity(1), '1');
  assert.is(fmtSimilarity(undefined), '–');
  assert.not.equal(fmtSimilarity(1 - 1e-12), '1');
});

test('low-precision nodes count what ran, beside what was resolved; nothing for a cell that failed', () => {
  const ok = { status: 'ok' as const, precisionCounts: { fp16: 67, '-': 4 }, realizedCounts: { fp16: 10, fp32: 57, '-': 4 } };
  assert.is(describeLowPrecision(ok), '10/67 ran (67 resolved)');
  assert.is(describeLowPrecision({ ...ok, precisionCounts: { int8: 33, fp32: 79 }, realizedCounts: { fp32: 112 } }), '0/112 ran (33 resolved)');
  assert.is(describeLowPrecision({ ...ok, realizedCounts: undefined }), '?/67 ran (67 resolved)');
  assert.is(describeLowPrecision({ ...ok, status: 'failed' }), '–');
  // A recorded run: the fp16 cell's build explained 11 nodes as fp32 (ONNX Runtime CPU) and 1 as fused.
  const r = runFixture('baseline');
  r.cells[0]!.status = 'failed';
  const md = renderRunMarkdown(r);
  assert.match(md, /\| digits@fp16-cpu \|[^\n]*\| 0\/12 ran \(12 resolved\) \|\n/);
  assert.match(md, /\| digits@fp32-cpu \(failed\) \|[^\n]*\| – \|\n/);
});

test('explain shares add up to every float node and all their FLOPs, fused nodes included', () => {
  const r = runFixture('baseline');
  const lock = r.stages['transform@fp16']!.details!.lock as { node: string; resolved: string }[];
  r.stages.reference!.details = { ...r.stages.reference!.details, node_flops: Object.fromEntries(lock.map((l, i) => [l.node, 100 * (i + 1)])) };
  const e = explainCell(r, 'fp16-cpu')!;
  for (const share of [e.resolvedShare, e.realizedShare]) {
    const sum = Object.values(share).reduce((s, [n, f]) => [s[0]! + n, s[1]! + f], [0, 0]);
    assert.equal(sum, [e.total.nodes, e.total.flops]);
  }
  assert.ok(e.realizedShare['?'], 'the node the backend fused away is counted, as "?"');
});

test('without labels the accuracy chart shows 1 - cosine, not an arg-max agreement', () => {
  const r = runFixture('baseline');
  for (const c of r.cells) {
    delete c.accuracy.top1;
    delete c.accuracy.reference_top1;
    c.accuracy.cosine = 0.99999993;
  }
  const html = renderHtml(r, { history: [] });
  const accuracy = html.slice(html.indexOf('<section id="accuracy">'), html.indexOf('<section id="history">'));
  assert.match(accuracy, '1 − cosine similarity with the FP32 reference');
  assert.not.match(accuracy, 'pts');
  assert.match(html, '<td class="n">0.99999993</td>');
});

test.run();
