/** The table `trtpipe compare` prints: one row per cell, deltas against run A. */
import { fmt, signedPct } from './format.js';
import type { RunComparison } from '../gen/schema/run-record.js';

function latencyCell(m: { relative: number; bandRelative: number; significant: boolean; delta: number } | undefined): string {
  if (!m) return '–';
  // ^ slower and v faster beyond the noise band; no mark: inside it (noise).
  const mark = m.significant ? (m.delta > 0 ? ' ^' : ' v') : '';
  return `${signedPct(m.relative)} ±${(m.bandRelative * 100).toFixed(1)}%${mark}`;
}

export function compareTable(cmp: RunComparison): string {
  const batches = [...new Set(cmp.cells.flatMap((c) => c.latency.map((l) => l.batch)))].sort((a, b) => Number(a) - Number(b));
  const header = ['cell', ...batches.flatMap((b) => [`p50 b${b}`, `p99 b${b}`]), 'top-1', 'cosine', 'engine', 'drift'];
  const rows = cmp.cells.map((c) => {
    if (c.status !== 'compared') return [c.name, c.status === 'not-in-baseline' ? `not in ${cmp.baseline.id}` : 'incomplete in one run', ...header.slice(2).map(() => '')];
    const byBatch = new Map(c.latency.map((l) => [l.batch, l]));
    return [
      c.name,
      ...batches.flatMap((b) => [latencyCell(byBatch.get(b)?.p50), latencyCell(byBatch.get(b)?.p99)]),
      c.top1 ? `${c.top1.deltaPoints >= 0 ? '+' : ''}${c.top1.deltaPoints.toFixed(2)} pts` : '–',
      c.cosine ? (c.cosine.delta >= 0 ? `+${fmt(c.cosine.delta, 6)}` : fmt(c.cosine.delta, 6)) : '–',
      c.engineBytes ? signedPct(c.engineBytes.relative) : '–',
      c.widened.length ? `${c.widened.length} wider` : c.narrowed.length ? `${c.narrowed.length} narrower` : 'none',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const drift = cmp.cells.flatMap((c) => c.widened.map((d) => `  ${c.name}: ${d.node} (${d.op}) ${d.kind} ${d.from} -> ${d.to}${d.reason ? ` [${d.reason}]` : ''}`));
  return [
    `${cmp.current.id} against ${cmp.baseline.name ? `baseline ${cmp.baseline.name} (${cmp.baseline.id})` : cmp.baseline.id}; latency: median change ± noise band, ^/v outside the band`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(drift.length ? ['', 'nodes that got wider:', ...drift.slice(0, 50), ...(drift.length > 50 ? [`  ... and ${drift.length - 50} more`] : [])] : []),
  ].join('\n');
}
