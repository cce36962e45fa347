/** The table `trtpipe run` prints at the end. */
import { fmt, fmtSimilarity, ms, pct } from '../report/format.js';
import type { CellSummary } from '../gen/schema/run-record.js';

export function summaryTable(cells: CellSummary[], batches: number[]): string {
  const header = ['cell', 'status', 'top-1', 'cosine', 'max abs err', ...batches.flatMap((b) => [`p50 b${b}`, `p99 b${b}`])];
  const rows = cells.map((c) => [
    c.name,
    c.status,
    pct(c.accuracy.top1),
    c.accuracy.nonfinite ? `NaN/Inf x${c.accuracy.nonfinite}` : fmtSimilarity(c.accuracy.cosine),
    fmt(c.accuracy.max_abs),
    ...batches.flatMap((b) => [ms(c.latency[String(b)]?.latency_p50_ms), ms(c.latency[String(b)]?.latency_p99_ms)]),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
