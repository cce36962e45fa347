/**
 * report.md: fits a pull-request comment (GitHub caps comments at 65,536
 * characters, so long lists are cut): the summary table per cell, gate
 * results (failures first, passes folded), the top regressions against the
 * baseline, precision drift by node name, failures, the data used, provenance.
 */
import { topRegressions } from './compare.js';
import { asNumber, bytes, fmt, fmtSimilarity, mdTable, ms, pct, signedPct } from './format.js';
import { latencyFindings, latencyMarkdown } from './latency-report.js';
import { isNoisy } from './noise.js';
import { batchesOf, withRealizedCounts } from './record-view.js';
import { describeLowPrecision } from './summary.js';
import { describeTolerance } from './tolerances.js';
import type { CellSummary, GateReport, RunComparison, RunRecord } from '../gen/schema/run-record.js';

export interface MarkdownInput {
  pipeline: string;
  runId: string;
  status: string;
  cells: CellSummary[];
  batches: number[];
  dataNotes: string[];
  gates?: GateReport;
  comparison?: RunComparison;
  /** One line about versions, hardware and commit. */
  provenance?: string;
  /** The "how the latency was measured" section (latency-report.ts). */
  latency?: string[];
}

/** Rows of a list shown before the rest is summarised as "... and N more". */
const LIST_LIMIT = 20;

export function renderMarkdown(r: MarkdownInput): string {
  const out: string[] = [];
  const ok = r.cells.filter((c) => c.status === 'ok').length;
  out.push(`# trtpipe: ${r.pipeline}`, '');
  const g = r.gates;
  const gateLine = g && g.checks.length ? `; gates: ${g.failed ? `❌ **${g.failed} failed**, ` : ''}${g.passed} passed${g.skipped ? `, ${g.skipped} skipped` : ''}` : '';
  const against = r.comparison ? ` against baseline \`${r.comparison.baseline.name ?? r.comparison.baseline.id}\`` : '';
  out.push(`Run \`${r.runId}\`: **${r.status}**, ${ok}/${r.cells.length} cells complete${gateLine}${against}.`, '');
  out.push(summaryTable(r), '');
  if (g && g.checks.length) out.push(...gatesSection(g));
  if (r.comparison) out.push(...regressionsSection(r.comparison), ...driftSection(r.comparison));
  if (r.latency) out.push(...r.latency);
  const failed = r.cells.filter((c) => c.failure);
  if (failed.length) {
    out.push('## Failures', '');
    for (const c of failed) {
      const f = c.failure!;
      out.push(`- **${c.name}**: \`${f.stage}\` failed (${f.code}${f.node ? `, node \`${f.node}\`` : ''}): ${f.message}`);
    }
    out.push('');
  }
  const outOfTolerance = r.cells.flatMap((c) => (c.tolerances ?? []).filter((t) => !t.pass).map((t) => `- **${c.name}**: ${describeTolerance(t)}`));
  if (outOfTolerance.length) out.push('## Out of tolerance', '', ...outOfTolerance, '');
  if (r.dataNotes.length) out.push('## Data', '', ...r.dataNotes.map((n) => `- ${n}`), '');
  if (r.provenance) out.push(`<sub>${r.provenance} · charts, per-node precision and history: report.html</sub>`, '');
  return out.join('\n');
}

/** report.md of a run record (what `trtpipe run` writes and `trtpipe report` re-renders). */
export function renderRunMarkdown(record: RunRecord): string {
  return renderMarkdown({
    pipeline: record.pipeline.name,
    runId: record.id,
    status: record.status,
    cells: record.cells.map((c) => withRealizedCounts(record, c)),
    batches: batchesOf(record).map(Number),
    dataNotes: dataNotesOf(record),
    ...(record.gates ? { gates: record.gates } : {}),
    ...(record.comparison ? { comparison: record.comparison } : {}),
    provenance: provenanceLine(record),
    latency: latencyMarkdown(latencyFindings(record)),
  });
}

function summaryTable(r: MarkdownInput): string {
  const header = ['cell', 'precision', 'target', 'top-1', 'cosine', 'max abs err', 'top-1 agree'];
  for (const b of r.batches) header.push(`p50 b${b}`, `p99 b${b}`);
  header.push('low-precision nodes');
  const nn = r.cells.some((c) => c.accuracy.nn_agreement !== undefined);
  if (nn) header.splice(7, 0, 'nn agree');
  const rows = r.cells.map((c) => {
    const a = c.accuracy;
    const row = [c.name, c.precision, c.target, pct(a.top1), fmtSimilarity(a.cosine), fmt(a.max_abs), pct(a.top1_agreement)];
    if (nn) row.push(pct(a.nn_agreement));
    for (const b of r.batches) row.push(`${ms(c.latency[String(b)]?.latency_p50_ms)}${noisyMark(c, String(b))}`, ms(c.latency[String(b)]?.latency_p99_ms));
    row.push(describeLowPrecision(c));
    if (c.status !== 'ok') row[0] = `${c.name} (${c.status})`;
    if (a.nonfinite) row[4] = `${row[4]} (${a.nonfinite} NaN/Inf)`;
    return row;
  });
  return mdTable(header, rows, header.map((_, i) => (i < 3 ? 'l' : 'r')));
}

const MARK = { pass: '✅ pass', fail: '❌ fail', skip: '➖ skip' } as const;

function gatesSection(g: GateReport): string[] {
  const out = ['## Gates', ''];
  const row = (c: GateReport['checks'][number]) => [c.gate, c.name, MARK[c.status], c.message];
  const failed = g.checks.filter((c) => c.status === 'fail');
  const rest = g.checks.filter((c) => c.status !== 'fail');
  if (failed.length) out.push(mdTable(['gate', 'cell', 'result', 'detail'], failed.slice(0, LIST_LIMIT).map(row)), '');
  if (failed.length > LIST_LIMIT) out.push(`… and ${failed.length - LIST_LIMIT} more failed checks (junit.xml lists all).`, '');
  if (rest.length) {
    // Passed and skipped checks fold away: a reviewer needs the failures first.
    out.push(`<details><summary>${rest.length} passed or skipped check(s)</summary>`, '');
    out.push(mdTable(['gate', 'cell', 'result', 'detail'], rest.slice(0, 3 * LIST_LIMIT).map(row)), '');
    if (rest.length > 3 * LIST_LIMIT) out.push(`… and ${rest.length - 3 * LIST_LIMIT} more.`, '');
    out.push('</details>', '');
  }
  return out;
}

function regressionsSection(cmp: RunComparison): string[] {
  const name = cmp.baseline.name ?? cmp.baseline.id;
  const regs = topRegressions(cmp);
  const out = [`## Top regressions vs baseline \`${name}\``, ''];
  if (!regs.length) return [...out, `Nothing got worse beyond the noise band (baseline run \`${cmp.baseline.id}\`).`, ''];
  const value = (v: number, unit: string) => (unit === 'ms' ? ms(v) : unit === 'points' ? pct(v) : unit === 'bytes' ? bytes(v) : fmtSimilarity(v));
  const change = (r: (typeof regs)[number]) =>
    r.unit === 'points' ? `${r.change.toFixed(2)} points` : r.unit === 'cosine' ? fmt(r.change, 6) : signedPct(r.change);
  out.push(
    mdTable(
      ['cell', 'metric', 'baseline', 'now', 'change', 'noise band'],
      regs.map((r) => [r.cell, r.metric, value(r.baseline, r.unit), value(r.current, r.unit), change(r), r.band !== undefined ? `±${(r.band * 100).toFixed(1)}%` : '']),
      ['l', 'l', 'r', 'r', 'r', 'r'],
    ),
    '',
  );
  return out;
}

function driftSection(cmp: RunComparison): string[] {
  const changed = cmp.cells.filter((c) => c.widened.length || c.narrowed.length);
  if (!changed.length) return [];
  const out = ['## Precision changes vs baseline', ''];
  for (const c of changed) {
    out.push(`**${c.name}**: ${c.widened.length} wider, ${c.narrowed.length} narrower`, '');
    const rows = [...c.widened.map((d) => ({ ...d, dir: 'wider' })), ...c.narrowed.map((d) => ({ ...d, dir: 'narrower' }))];
    out.push(mdTable(['node', 'op', 'change', 'was', 'now', 'why'], rows.slice(0, LIST_LIMIT).map((d) => [`\`${d.node}\``, d.op, `${d.dir} (${d.kind})`, d.from, d.to, d.reason ?? ''])), '');
    if (rows.length > LIST_LIMIT) out.push(`… and ${rows.length - LIST_LIMIT} more (report.html has the full table).`, '');
  }
  return out;
}

/** " (noisy)" after a latency whose batch is over benchmark.noise_max: not to be compared silently. */
function noisyMark(c: CellSummary, batch: string): string {
  return isNoisy(c.noise, batch) ? ' (noisy)' : '';
}

/** The evaluation and calibration data as the reference stages saw them. */
export function dataNotesOf(record: RunRecord): string[] {
  const notes: string[] = [];
  for (const [node, key, label] of [['reference', 'eval_data', 'evaluation'], ['ranges', 'calib_data', 'calibration']] as const) {
    const d = record.stages[node]?.details?.[key] as { samples?: number; synthetic?: boolean; inputs?: Record<string, { min: unknown; max: unknown; shape: number[] }> } | undefined;
    if (!d) continue;
    // min/max are "nan" or "inf" (runner JSON) for data with non-finite values: shown as such.
    const ranges = Object.entries(d.inputs ?? {}).map(([k, v]) => `\`${k}\` ${JSON.stringify(v.shape)} in [${fmt(asNumber(v.min), 3)}, ${fmt(asNumber(v.max), 3)}]`);
    notes.push(`${label}: ${d.samples} samples${d.synthetic ? ' (**SYNTHETIC: random data**)' : ''}; ${ranges.join(', ')}`);
  }
  return notes;
}

/** trtpipe and backend versions, GPUs, git commit: one line. */
export function provenanceLine(record: RunRecord): string {
  const parts = [`trtpipe ${record.trtpipe.version}`];
  const backends = new Set<string>();
  const gpus = new Set<string>();
  for (const c of record.cells) {
    const p = c.provenance;
    if (!p) continue;
    backends.add(`${p.backend.name}${p.backend.version ? ` ${p.backend.version}` : ''}${p.backend.device ? ` (${p.backend.device})` : ''} on runner ${p.runner.version}@${p.runner.hostname}`);
    for (const g of p.gpus ?? []) gpus.add(`${g.name} (SM ${g.computeCapability}, driver ${g.driver}, CUDA ${g.cuda})`);
  }
  parts.push(...backends, ...gpus);
  const git = record.provenance?.git;
  if (git) parts.push(`commit ${git.commit.slice(0, 12)}${git.dirty ? ' (uncommitted changes)' : ''}`);
  return parts.join(' · ');
}
