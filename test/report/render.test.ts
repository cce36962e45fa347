/** report.md, junit.xml and report.html as text: content, escaping, self-containment, size and speed. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRuns } from '../../src/report/compare.js';
import { evaluateGates } from '../../src/report/gates.js';
import { historyEntry, historyFor } from '../../src/report/history.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderRunMarkdown } from '../../src/report/markdown.js';
import { runFixture } from '../helpers/fixtures.js';
import { syntheticReport } from '../helpers/synthetic-record.js';
import type { RunRecord } from '../../src/gen/schema/run-record.js';

function judged(name: 'regressed' | 'changed' | 'noisy'): RunRecord {
  const base = runFixture('baseline');
  const r = runFixture(name);
  r.comparison = compareRuns(base, r, 'main');
  r.gates = evaluateGates(r.gates!.config, r, r.comparison);
  return r;
}

test('report.md: summary per cell, failed gates first, top regressions with their noise band', () => {
  const md = renderRunMarkdown(judged('regressed'));
  assert.match(md, '| digits@fp16-cpu | fp16 | cpu |');
  assert.match(md, "gates: ❌ **1 failed**, 11 passed against baseline `main`");
  assert.match(md, /## Gates\n\n\| gate \| cell \| result \| detail \|\n[^\n]+\n\| latency_p50 \| digits@fp16-cpu \| ❌ fail \| b\d+ slower by \+10\.\d%/);
  assert.match(md, '<details><summary>11 passed or skipped check(s)</summary>');
  assert.match(md, '## Top regressions vs baseline `main`');
  assert.match(md, /\| digits@fp16-cpu \| p50 b1 \| 120 µs \| 132 µs \| \+10\.0% \| ±\d\.\d% \|/);
  assert.match(md, '## Data');
  assert.match(md, 'onnxruntime 1.32.0 (cpu) on runner 0.1.0');
});

test('report.md: precision drift names the nodes; a quiet comparison says nothing got worse', () => {
  assert.match(renderRunMarkdown(judged('changed')), '| `/head/fc2/Gemm` | Gemm | wider (resolved) | fp16 | fp32 | POLICY_RULE |');
  assert.match(renderRunMarkdown(judged('noisy')), 'Nothing got worse beyond the noise band');
});

test('junit.xml: one case per cell and per gate check, failures counted, text escaped', () => {
  const r = judged('changed');
  r.cells[0]!.name = 'digits@<fp32>&"cpu"\u0001';
  const xml = renderJunit(r);
  const cases = xml.match(/<testcase /g)!.length;
  assert.is(cases, r.cells.length + r.gates!.checks.length);
  assert.match(xml, `<testsuites name="trtpipe digits" tests="${cases}" failures="${r.gates!.failed}"`);
  assert.match(xml, 'name="digits@&lt;fp32&gt;&amp;&quot;cpu&quot;\uFFFD"');
  assert.match(xml, /<testcase classname="digits\.gates\.precision_drift" name="precision_drift digits@fp16-cpu" time="0\.000">\n\s+<failure type="precision_drift" message="1 node\(s\) got wider: \/head\/fc2\/Gemm fp16-&gt;fp32 \(POLICY_RULE\)">\/head\/fc2\/Gemm \(Gemm\): resolved fp16 -&gt; fp32 \[POLICY_RULE\]<\/failure>/);
  assert.not.match(xml, /[\u0000-\u0008]/);
});

test('junit.xml: a failed cell fails its case with the stage and code; skipped cells are skipped', () => {
  const r = runFixture('baseline');
  r.status = 'failed';
  r.cells[1]!.status = 'failed';
  r.cells[1]!.failure = { stage: 'build@fp16-cpu', message: 'no kernel', code: 'BUILD_FAILED' };
  r.cells[0]!.status = 'skipped';
  const xml = renderJunit(r);
  assert.match(xml, '<failure type="BUILD_FAILED" message="build@fp16-cpu failed: no kernel">');
  assert.match(xml, '<skipped message="not run: an earlier stage failed"/>');
});

test('report.html: self-contained (no scripts, no external references), with every section', () => {
  const r = judged('regressed');
  const html = renderHtml(r, { history: [historyEntry(runFixture('baseline')), historyEntry(r)] });
  assert.not.match(html, /<script/i);
  assert.not.match(html, /\s(src|srcset|action)=/i);
  for (const href of html.match(/href="[^"]*"/g) ?? []) assert.match(href, /^href="#/);
  // The only absolute URL is the SVG namespace, which is a name, not a request.
  assert.equal([...new Set(html.match(/https?:\/\/[^"'\s)]+/g))], ['http://www.w3.org/2000/svg']);
  assert.match(html, `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  for (const id of ['summary', 'gates', 'baseline', 'latency', 'accuracy', 'history', 'precision', 'provenance']) assert.match(html, `<section id="${id}">`);
  assert.is((html.match(/class="chart chart-latency"/g) ?? []).length, 2);
  assert.is((html.match(/<rect class="node"/g) ?? []).length, 2 * 12);
});

test('report.html of a record from before provenance and gates still renders', () => {
  const r = runFixture('baseline');
  delete r.provenance;
  delete r.gates;
  for (const c of r.cells) delete c.provenance;
  const html = renderHtml(r, { history: historyFor(r, []) });
  assert.not.match(html, '<section id="gates">');
  assert.match(html, 'no provenance in this record');
  assert.match(html, 'History starts with this run');
});

test('acceptance: 12 cells of a 200-node model render in under a second and under 2 MB', () => {
  const { record, history } = syntheticReport();
  const t0 = performance.now();
  const html = renderHtml(record, { history: historyFor(record, history) });
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  assert.ok(Buffer.byteLength(html) < 2 * 1024 * 1024, `${Buffer.byteLength(html)} bytes`);
  assert.is((html.match(/<rect class="node"/g) ?? []).length, 12 * 200);
  assert.is((html.match(/<tr(?: class="diff")?><td class="node">/g) ?? []).length, 12 * 200);
  assert.ok(renderRunMarkdown(record).length < 65_536, 'report.md fits a GitHub comment');
});

test.run();
