/** report.md: fits a pull-request comment. */
import type { CellSummary } from './summary.js';
import { fmt, mdTable, ms, pct } from './format.js';
import { describeTolerance } from './tolerances.js';

export interface MarkdownInput {
  pipeline: string;
  runId: string;
  status: string;
  cells: CellSummary[];
  batches: number[];
  dataNotes: string[];
}

export function renderMarkdown(r: MarkdownInput): string {
  const out: string[] = [];
  const ok = r.cells.filter((c) => c.status === 'ok').length;
  out.push(`# trtpipe: ${r.pipeline}`, '');
  out.push(`Run \`${r.runId}\`: **${r.status}**, ${ok}/${r.cells.length} cells complete.`, '');
  const header = ['cell', 'precision', 'target', 'top-1', 'cosine', 'max abs err', 'top-1 agree'];
  for (const b of r.batches) header.push(`p50 b${b}`, `p99 b${b}`);
  header.push('low-precision nodes');
  const rows = r.cells.map((c) => {
    const a = c.accuracy;
    const row = [c.name, c.precision, c.target, pct(a.top1), fmt(a.cosine, 6), fmt(a.max_abs), pct(a.top1_agreement)];
    for (const b of r.batches) row.push(ms(c.latency[String(b)]?.latency_p50_ms), ms(c.latency[String(b)]?.latency_p99_ms));
    row.push(lowShare(c.precisionCounts));
    if (c.status !== 'ok') row[0] = `${c.name} (${c.status})`;
    if (a.nonfinite) row[4] = `${row[4]} (${a.nonfinite} NaN/Inf)`;
    return row;
  });
  out.push(mdTable(header, rows, header.map((_, i) => (i < 3 ? 'l' : 'r'))), '');
  const failed = r.cells.filter((c) => c.failure);
  if (failed.length) {
    out.push('## Failures', '');
    for (const c of failed) {
      const f = c.failure!;
      out.push(`- **${c.name}**: \`${f.stage}\` failed (${f.code}${f.node ? `, node \`${f.node}\`` : ''}): ${f.message}`);
    }
    out.push('');
  }
  const outOfTolerance = r.cells.flatMap((c) => c.tolerances.filter((t) => !t.pass).map((t) => `- **${c.name}**: ${describeTolerance(t)}`));
  if (outOfTolerance.length) out.push('## Out of tolerance', '', ...outOfTolerance, '');
  if (r.dataNotes.length) {
    out.push('## Data', '', ...r.dataNotes.map((n) => `- ${n}`), '');
  }
  return out.join('\n');
}

function lowShare(counts: Record<string, number>): string {
  const total = Object.entries(counts).filter(([p]) => p !== '-').reduce((s, [, n]) => s + n, 0);
  if (!total) return '–';
  const low = Object.entries(counts).filter(([p]) => ['fp16', 'bf16', 'int8', 'fp8'].includes(p)).reduce((s, [, n]) => s + n, 0);
  return `${low}/${total}`;
}
