/**
 * junit.xml for CI systems: one test case per matrix cell (fails when a stage
 * failed) and one per gate and cell (fails when the gate failed; skipped when
 * it could not be judged, e.g. without a baseline).
 */
import { fmt, fmtSimilarity, ms, pct } from './format.js';
import { latencyFindings } from './latency-report.js';
import { stagesOfCell } from './record-view.js';
import { xmlText } from './xml.js';
import type { RunRecord } from '../gen/schema/run-record.js';

interface Case {
  classname: string;
  name: string;
  seconds: number;
  failure?: { type: string; message: string; body?: string };
  skipped?: string;
  out?: string;
}

export function renderJunit(record: RunRecord): string {
  const p = record.pipeline.name;
  const cells: Case[] = record.cells.map((c) => {
    const seconds = stagesOfCell(record, c).reduce((s, [, st]) => s + (st.seconds ?? 0), 0);
    const lat = Object.entries(c.latency).map(([b, l]) => `b${b} p50 ${ms(l.latency_p50_ms)} p99 ${ms(l.latency_p99_ms)}`).join(', ');
    const out = `top-1 ${pct(c.accuracy.top1)}, cosine ${fmtSimilarity(c.accuracy.cosine)}, max abs ${fmt(c.accuracy.max_abs)}${lat ? `; ${lat}` : ''}`;
    const base: Case = { classname: `${p}.cells`, name: c.name, seconds, out };
    if (c.status === 'failed' && c.failure) {
      const f = c.failure;
      const traceback = record.stages[f.stage]?.error?.traceback;
      return { ...base, failure: { type: f.code, message: `${f.stage} failed${f.node ? ` at node ${f.node}` : ''}: ${f.message}`, ...(traceback ? { body: traceback } : {}) } };
    }
    if (c.status !== 'ok') return { ...base, skipped: `not run: ${record.status === 'interrupted' ? 'the run was interrupted' : 'an earlier stage failed'}` };
    return base;
  });
  const gates: Case[] = (record.gates?.checks ?? []).map((g) => {
    const base: Case = { classname: `${p}.gates.${g.gate}`, name: `${g.gate} ${g.name}`, seconds: 0 };
    if (g.status === 'fail') return { ...base, failure: { type: g.gate, message: g.message, ...(g.nodes?.length ? { body: g.nodes.map((n) => `${n.node} (${n.op}): ${n.kind} ${n.from} -> ${n.to}${n.reason ? ` [${n.reason}]` : ''}`).join('\n') } : {}) } };
    if (g.status === 'skip') return { ...base, skipped: g.message };
    return { ...base, out: g.message };
  });
  const latency = latencyCases(record);
  const suites = [
    suite(`${p}.cells`, cells, record.started),
    ...(gates.length ? [suite(`${p}.gates`, gates, record.started)] : []),
    ...(latency.length ? [suite(`${p}.latency`, latency, record.started)] : []),
  ];
  const all = [...cells, ...gates, ...latency];
  const total = (record.timings?.totalSeconds ?? 0).toFixed(3);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlText(`trtpipe ${p}`)}" tests="${all.length}" failures="${all.filter((c) => c.failure).length}" errors="0" skipped="${all.filter((c) => c.skipped).length}" time="${total}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

/** Exclusive timing and the identical-engine self-check (latency-report.ts), when there is something to check. */
function latencyCases(record: RunRecord): Case[] {
  const f = latencyFindings(record);
  const classname = `${record.pipeline.name}.latency`;
  const out: Case[] = [];
  if (f.cells.some((c) => !c.provenance.cached)) {
    const line = f.lines[0] ?? '';
    out.push({ classname, name: 'timing loops had their device to themselves', seconds: 0, ...(f.overlaps ? { failure: { type: 'TIMING_OVERLAP', message: line } } : { out: line }) });
  }
  for (const pair of f.selfCheck.pairs) {
    const message = `${pair.a} b${pair.batch} ${ms(pair.p50a)} vs ${pair.b} ${ms(pair.p50b)}: x${pair.ratio.toFixed(3)}, tolerance ±${(pair.tolerance * 100).toFixed(1)}%`;
    out.push({ classname, name: `self-check ${pair.a} vs ${pair.b} b${pair.batch}`, seconds: 0, ...(pair.agree ? { out: message } : { failure: { type: 'SELF_CHECK', message: `identical engines disagree: ${message}` } }) });
  }
  return out;
}

function suite(name: string, cases: Case[], timestamp: string): string {
  const time = cases.reduce((s, c) => s + c.seconds, 0).toFixed(3);
  const lines = [
    `  <testsuite name="${xmlText(name)}" tests="${cases.length}" failures="${cases.filter((c) => c.failure).length}" errors="0" skipped="${cases.filter((c) => c.skipped).length}" time="${time}" timestamp="${xmlText(timestamp.replace(/Z$/, ''))}">`,
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${xmlText(c.classname)}" name="${xmlText(c.name)}" time="${c.seconds.toFixed(3)}"`;
    const inner: string[] = [];
    if (c.failure) inner.push(`      <failure type="${xmlText(c.failure.type)}" message="${xmlText(c.failure.message)}">${xmlText(c.failure.body ?? c.failure.message)}</failure>`);
    if (c.skipped) inner.push(`      <skipped message="${xmlText(c.skipped)}"/>`);
    if (c.out) inner.push(`      <system-out>${xmlText(c.out)}</system-out>`);
    lines.push(inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  lines.push('  </testsuite>');
  return lines.join('\n');
}
