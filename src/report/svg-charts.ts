/**
 * Small, dependency-free SVG charts for the HTML report: grouped bars with
 * whiskers, diverging horizontal bars, a log-scale range plot and sparklines.
 * Each returns one <svg> element as a string; sizes are in CSS pixels and the
 * charts scale down with the page (viewBox). Every mark has a <title>, so
 * exact values show on hover.
 */
import { esc, num } from './xml.js';

/** Round tick steps (1, 2, 5 x 10^k) covering [0, max] in about `count` steps. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  if (ticks.at(-1)! < max) ticks.push(+(ticks.at(-1)! + step).toPrecision(12));
  return ticks;
}

/** Powers of ten covering [min, max] (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.max(Math.ceil(Math.log10(max)), lo + 1);
  return Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
}

const FONT = 'font-size="11"';

function svgOpen(cls: string, width: number, height: number, label: string): string {
  return `<svg class="chart ${esc(cls)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${num(width)} ${num(height)}" width="${num(width)}" height="${num(height)}" role="img" aria-label="${esc(label)}">`;
}

export interface LegendItem {
  label: string;
  color: string;
}

function legend(items: LegendItem[], x: number, y: number): string {
  let cx = x;
  return items
    .map((it) => {
      const s = `<rect x="${num(cx)}" y="${num(y - 9)}" width="10" height="10" fill="${esc(it.color)}"/><text x="${num(cx + 14)}" y="${num(y)}" ${FONT}>${esc(it.label)}</text>`;
      cx += 24 + it.label.length * 6.5;
      return s;
    })
    .join('');
}

export interface Bar {
  value: number | undefined;
  /** Upper whisker (e.g. p99 over a p50 bar). */
  whisker?: number;
  color: string;
  /** Hover text. */
  title: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

/** Vertical bars in groups (e.g. one group per target, one bar per precision), optional whiskers. */
export function groupedBars(o: { cls: string; label: string; yLabel: string; groups: BarGroup[]; legend: LegendItem[]; format: (v: number) => string }): string {
  const barW = 16;
  const gap = 28;
  const left = 64;
  const top = 26;
  const plotH = 150;
  const maxBars = Math.max(1, ...o.groups.map((g) => g.bars.length));
  const groupW = maxBars * barW + gap;
  const width = Math.max(360, left + o.groups.length * groupW + 16);
  const height = top + plotH + 40;
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : 0);
  const maxBar = Math.max(0, ...o.groups.flatMap((g) => g.bars.map((b) => finite(b.value))));
  const maxWhisker = Math.max(0, ...o.groups.flatMap((g) => g.bars.map((b) => finite(b.whisker))));
  // A p99 far above every p50 (a noisy tail) would flatten the bars: such
  // whiskers are cut at twice the tallest bar and marked with an arrow.
  const max = maxBar > 0 ? Math.min(Math.max(maxBar, maxWhisker), 2 * maxBar) : maxWhisker;
  const ticks = niceTicks(max);
  const yMax = ticks.at(-1)!;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const out: string[] = [svgOpen(o.cls, width, height, o.label)];
  out.push(legend(o.legend, left, 12));
  for (const t of ticks) {
    out.push(`<line x1="${left}" x2="${num(width - 8)}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end" ${FONT} fill="#555">${esc(o.format(t))}</text>`);
  }
  out.push(`<text transform="translate(12 ${num(top + plotH / 2)}) rotate(-90)" text-anchor="middle" ${FONT} fill="#555">${esc(o.yLabel)}</text>`);
  o.groups.forEach((g, gi) => {
    const gx = left + gap / 2 + gi * groupW;
    g.bars.forEach((b, bi) => {
      const x = gx + bi * barW;
      if (b.value === undefined || !Number.isFinite(b.value)) {
        out.push(`<text x="${num(x + barW / 2 - 1)}" y="${num(top + plotH - 3)}" text-anchor="middle" font-size="9" fill="#999"><title>${esc(b.title)}</title>–</text>`);
        return;
      }
      out.push(`<rect class="bar" x="${num(x + 1)}" y="${num(y(b.value))}" width="${barW - 2}" height="${num(Math.max(0.5, top + plotH - y(b.value)))}" fill="${esc(b.color)}"><title>${esc(b.title)}</title></rect>`);
      if (b.whisker !== undefined && Number.isFinite(b.whisker) && b.whisker > b.value) {
        const cx = x + barW / 2;
        const cut = b.whisker > yMax;
        const end = y(Math.min(b.whisker, yMax));
        out.push(`<path d="M${num(cx)} ${num(y(b.value))}V${num(end)}${cut ? '' : `M${num(cx - 4)} ${num(end)}H${num(cx + 4)}`}" stroke="#333" stroke-width="1"/>`);
        if (cut) out.push(`<path class="cut" d="M${num(cx - 4)} ${num(end + 5)}L${num(cx)} ${num(end - 1)}L${num(cx + 4)} ${num(end + 5)}Z" fill="#333"><title>${esc(b.title)}</title></path>`);
      }
    });
    out.push(`<text x="${num(gx + (g.bars.length * barW) / 2)}" y="${num(top + plotH + 16)}" text-anchor="middle" ${FONT}>${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${num(width - 8)}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`);
  out.push('</svg>');
  return out.join('');
}

export interface DivergingRow {
  label: string;
  value: number | undefined;
  color: string;
  text: string;
}

/** Horizontal bars left and right of zero (e.g. top-1 change vs FP32 in points). */
export function divergingBars(o: { cls: string; label: string; rows: DivergingRow[]; minSpan: number; format: (v: number) => string }): string {
  const labelW = Math.min(260, 20 + Math.max(8, ...o.rows.map((r) => r.label.length)) * 6.2);
  const plotW = 300;
  const rowH = 18;
  const top = 8;
  const width = labelW + plotW + 90;
  const height = top + o.rows.length * rowH + 26;
  const span = Math.max(o.minSpan, ...o.rows.map((r) => Math.abs(r.value ?? 0)));
  const x0 = labelW + plotW / 2;
  const x = (v: number) => x0 + (v / span) * (plotW / 2);
  const out: string[] = [svgOpen(o.cls, width, height, o.label)];
  o.rows.forEach((r, i) => {
    const yy = top + i * rowH;
    out.push(`<text x="${num(labelW - 8)}" y="${yy + 13}" text-anchor="end" ${FONT}>${esc(r.label)}</text>`);
    if (r.value === undefined || !Number.isFinite(r.value)) {
      out.push(`<text x="${num(x0 + 4)}" y="${yy + 13}" ${FONT} fill="#999">${esc(r.text)}</text>`);
      return;
    }
    const a = Math.min(x(0), x(r.value));
    out.push(`<rect class="bar" x="${num(a)}" y="${yy + 3}" width="${num(Math.max(1, Math.abs(x(r.value) - x(0))))}" height="${rowH - 6}" fill="${esc(r.color)}"><title>${esc(`${r.label}: ${r.text}`)}</title></rect>`);
    out.push(`<text x="${num(r.value >= 0 ? x(r.value) + 4 : x(0) + 4)}" y="${yy + 13}" ${FONT} fill="#333">${esc(r.text)}</text>`);
  });
  const axisY = top + o.rows.length * rowH + 4;
  out.push(`<line x1="${num(x0)}" x2="${num(x0)}" y1="${top}" y2="${axisY}" stroke="#888"/>`);
  for (const v of [-span, 0, span]) out.push(`<text x="${num(x(v))}" y="${axisY + 14}" text-anchor="middle" ${FONT} fill="#555">${esc(o.format(v))}</text>`);
  out.push('</svg>');
  return out.join('');
}

export interface RangeRow {
  label: string;
  /** Named values, e.g. p50/p90/p99, drawn as dots joined by a line. */
  points: { name: string; value: number | undefined; color: string }[];
}

/** Dots on a log axis, one row per item (error percentiles spanning decades). */
export function logRangeChart(o: { cls: string; label: string; rows: RangeRow[]; legend: LegendItem[]; format: (v: number) => string }): string {
  const labelW = Math.min(260, 20 + Math.max(8, ...o.rows.map((r) => r.label.length)) * 6.2);
  const plotW = 380;
  const rowH = 18;
  const top = 22;
  const width = labelW + plotW + 24;
  const height = top + o.rows.length * rowH + 28;
  const positive = o.rows.flatMap((r) => r.points.map((p) => p.value)).filter((v): v is number => v !== undefined && v > 0 && Number.isFinite(v));
  const out: string[] = [svgOpen(o.cls, width, height, o.label)];
  out.push(legend(o.legend, labelW, 12));
  if (!positive.length) {
    out.push(`<text x="${num(labelW)}" y="${top + 14}" ${FONT} fill="#999">no errors above zero</text></svg>`);
    return out.join('');
  }
  const ticks = logTicks(Math.min(...positive), Math.max(...positive));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks.at(-1)!);
  const x = (v: number) => labelW + ((Math.log10(v) - lo) / (hi - lo)) * plotW;
  const axisY = top + o.rows.length * rowH + 2;
  for (const t of ticks) {
    out.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${top}" y2="${axisY}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${num(x(t))}" y="${axisY + 14}" text-anchor="middle" ${FONT} fill="#555">${esc(o.format(t))}</text>`);
  }
  o.rows.forEach((r, i) => {
    const cy = top + i * rowH + 9;
    out.push(`<text x="${num(labelW - 8)}" y="${cy + 4}" text-anchor="end" ${FONT}>${esc(r.label)}</text>`);
    const pts = r.points.filter((p) => p.value !== undefined && p.value > 0 && Number.isFinite(p.value));
    if (pts.length > 1) {
      const xs = pts.map((p) => x(p.value!));
      out.push(`<line x1="${num(Math.min(...xs))}" x2="${num(Math.max(...xs))}" y1="${cy}" y2="${cy}" stroke="#999"/>`);
    }
    for (const p of pts) out.push(`<circle class="dot" cx="${num(x(p.value!))}" cy="${cy}" r="4" fill="${esc(p.color)}"><title>${esc(`${r.label} ${p.name}: ${o.format(p.value!)}`)}</title></circle>`);
    if (!pts.length) out.push(`<text x="${num(labelW)}" y="${cy + 4}" ${FONT} fill="#999">exact (0) or not measured</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

/** A tiny line over runs; gaps where a run lacks the value; the last point marked. */
export function sparkline(values: (number | undefined)[], o: { color: string; title: string; width?: number; height?: number }): string {
  const w = o.width ?? 140;
  const h = o.height ?? 26;
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  const out = [svgOpen('spark', w, h, o.title), `<title>${esc(o.title)}</title>`];
  if (!known.length) return `${out.join('')}<text x="2" y="${h - 8}" font-size="10" fill="#999">no data</text></svg>`;
  const min = Math.min(...known);
  const max = Math.max(...known);
  const pad = 3;
  const x = (i: number) => pad + (values.length > 1 ? (i / (values.length - 1)) * (w - 2 * pad) : (w - 2 * pad) / 2);
  const y = (v: number) => (max > min ? h - pad - ((v - min) / (max - min)) * (h - 2 * pad) : h / 2);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === undefined || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${num(x(i))} ${num(y(v))}`;
    pen = true;
  });
  out.push(`<path d="${d}" fill="none" stroke="${esc(o.color)}" stroke-width="1.5"/>`);
  const lastIndex = values.length - 1 - [...values].reverse().findIndex((v) => v !== undefined && Number.isFinite(v));
  out.push(`<circle cx="${num(x(lastIndex))}" cy="${num(y(values[lastIndex]!))}" r="2.5" fill="${esc(o.color)}"/>`);
  out.push('</svg>');
  return out.join('');
}
