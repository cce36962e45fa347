/**
 * The reports' "how the latency was measured" section (report.md, report.html)
 * and its JUnit cases: whether every timing loop had its device to itself
 * (timing-windows.ts), which cells were too noisy to compare (noise.ts), the
 * self-check between cells that ran the same engine (self-check.ts), and per
 * cell the provenance of the number (latency-provenance.ts).
 */
import { mdTable, ms } from './format.js';
import { latencyProvenance, latencyWarnings, type LatencyProvenance } from './latency-provenance.js';
import { latencySelfCheck, type SelfCheck } from './self-check.js';
import { timingOverlaps, timingWindows } from './timing-windows.js';
import { esc } from './xml.js';
import type { CellSummary, RunRecord } from '../gen/schema/run-record.js';

export interface LatencyFindings {
  /** One line each: exclusivity, noise, self-check. */
  lines: string[];
  /** Per cell with a benchmark: its provenance and what makes it doubtful. */
  cells: { cell: CellSummary; provenance: LatencyProvenance; warnings: string[] }[];
  selfCheck: SelfCheck;
  overlaps: number;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

export function latencyFindings(record: RunRecord): LatencyFindings {
  const windows = timingWindows(record);
  const overlaps = timingOverlaps(record);
  const lines: string[] = [];
  if (windows.length) {
    const devices = new Set(windows.map((w) => w.device)).size;
    const unguarded = windows.some((w) => !w.enforced);
    if (overlaps.length) {
      const who = [...new Set(overlaps.map((o) => `${o.window.node} overlapped by ${o.other}`))].slice(0, 5).join('; ');
      lines.push(`⚠️ ${new Set(overlaps.map((o) => o.window)).size} of ${windows.length} timing loops shared their device with another stage of this run: ${who}.`);
    } else {
      lines.push(`Every timing loop had its device to itself: ${windows.length} loop(s) on ${devices} device(s), no other stage of this run held the device meanwhile${unguarded ? ' (by chance: leases were off)' : ''}.`);
    }
  }
  const noisy = record.cells.filter((c) => c.noise?.noisy);
  if (noisy.length) {
    const list = noisy.map((c) => `${c.name} ${Object.entries(c.noise!.batches).filter(([, n]) => n.cv > c.noise!.threshold).map(([b, n]) => `b${b} ${pct(n.cv)}`).join(', ')}`);
    lines.push(`⚠️ Noisy (latency varies more than benchmark.noise_max ${pct(noisy[0]!.noise!.threshold)}; compare with care): ${list.join('; ')}.`);
  }
  const selfCheck = latencySelfCheck(record);
  if (selfCheck.pairs.length) {
    const bad = selfCheck.pairs.filter((p) => !p.agree);
    const show = (bad.length ? bad : selfCheck.pairs).slice(0, 6).map((p) => `${p.a} vs ${p.b} b${p.batch}: ×${p.ratio.toFixed(3)} (±${pct(p.tolerance)})`);
    lines.push(bad.length
      ? `❌ Self-check: ${bad.length} measurement(s) of an identical engine disagree beyond their noise: something else slowed one of them (see the doubts per cell): ${show.join('; ')}.`
      : `Self-check: cells that ran an identical engine agree within their noise: ${show.join('; ')}.`);
  }
  const cells = record.cells.flatMap((cell) => {
    const provenance = latencyProvenance(record, cell);
    return provenance ? [{ cell, provenance, warnings: latencyWarnings(provenance) }] : [];
  });
  return { lines, cells, selfCheck, overlaps: overlaps.length };
}

/** The section of report.md; empty when no cell was benchmarked. */
export function latencyMarkdown(f: LatencyFindings): string[] {
  if (!f.cells.length && !f.lines.length) return [];
  const out = ['## Latency: how it was measured', '', ...f.lines.map((l) => `- ${l}`)];
  for (const c of f.cells) if (c.warnings.length) out.push(`- **${c.cell.name}**: ${c.warnings.join('; ')}`);
  out.push('', `<details><summary>Per cell: device, timer, iterations, warm-up, lease, noise</summary>`, '');
  out.push(mdTable(['cell', ...HEAD], f.cells.map((c) => [c.cell.name, ...row(c.cell, c.provenance)])), '', '</details>', '');
  return out;
}

/** The section of report.html. */
export function latencyHtml(f: LatencyFindings): string {
  if (!f.cells.length && !f.lines.length) return '<p class="muted">No cell was benchmarked.</p>';
  const lines = f.lines.map((l) => `<p>${esc(l)}</p>`).join('');
  const rows = f.cells.map((c) => `<tr><th scope="row">${esc(c.cell.name)}</th>${row(c.cell, c.provenance).map((v) => `<td>${esc(v)}</td>`).join('')}<td class="${c.warnings.length ? 'worse' : ''}">${esc(c.warnings.join('; ') || 'none')}</td></tr>`);
  return `${lines}<div class="scroll"><table class="latency-provenance"><thead><tr><th>cell</th>${[...HEAD, 'doubts'].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

const HEAD = ['device', 'hardware', 'timer', 'threads', 'iterations', 'warm-up', 'lease wait', 'others (cores)', 'noise'];

function row(cell: CellSummary, p: LatencyProvenance): string[] {
  const noise = cell.noise ? Object.entries(cell.noise.batches).map(([b, n]) => `b${b} ${pct(n.cv)}${n.source === 'repeats' ? ' (repeats)' : ''}`).join(', ') : '–';
  return [
    `${p.device}${p.lease.enforced ? ' (exclusive)' : ' (not exclusive)'}`,
    p.hardware,
    p.timer,
    p.threads,
    `${p.iterations.ran}/${p.iterations.requested}${p.iterations.stoppedBy.includes('max_seconds') ? ' (max_seconds)' : ''}`,
    `${p.warmup.seconds.toFixed(2)} s${p.warmup.stable ? '' : ', not stable'}`,
    `${p.lease.waitSeconds < 1 ? ms(p.lease.waitSeconds * 1000) : `${p.lease.waitSeconds.toFixed(1)} s`}${p.cached ? ' (cached)' : ''}`,
    p.otherCores === undefined ? '–' : p.otherCores.toFixed(2),
    noise,
  ];
}
