/**
 * A cell's error along its graph: one dot per node in topological order, at
 * 1 - cosine of its output against FP32 on a log axis, coloured by the
 * precision the node ran in; the tolerance as a dashed line, NaN/Inf as
 * triangles above the plot, the first node past the tolerance marked.
 */
import { fmt } from './format.js';
import { logTicks } from './svg-charts.js';
import { esc, num } from './xml.js';

export interface ChartNode {
  /** 1 - cosine of the node's output; Infinity for NaN/Inf. */
  gap: number;
  color: string;
  title: string;
}

const FONT = 'font-size="11"';
const FLOOR = 1e-12; // float32 noise: a gap below it draws on the axis

export function errorAlongGraph(o: { label: string; nodes: ChartNode[]; tolerance?: number; first?: number }): string {
  const left = 64;
  const top = 22;
  const plotH = 180;
  const step = Math.max(2, Math.min(24, 900 / Math.max(1, o.nodes.length)));
  const width = Math.max(420, left + o.nodes.length * step + 24);
  const height = top + plotH + 34;
  const finite = o.nodes.map((n) => n.gap).filter((g) => Number.isFinite(g) && g > FLOOR);
  const limit = o.tolerance !== undefined ? 1 - o.tolerance : undefined;
  const ticks = logTicks(Math.min(1e-7, ...finite), Math.max(1e-3, ...finite, ...(limit !== undefined && limit > 0 ? [limit] : [])));
  const lo = Math.log10(ticks[0]!);
  const hi = Math.log10(ticks.at(-1)!);
  const y = (g: number) => top + plotH - ((Math.log10(Math.max(g, ticks[0]!)) - lo) / (hi - lo)) * plotH;
  const x = (i: number) => left + i * step + step / 2;
  const out = [
    `<svg class="chart errors" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${num(width)} ${num(height)}" width="${num(width)}" height="${num(height)}" role="img" aria-label="${esc(o.label)}">`,
  ];
  for (const t of ticks) {
    out.push(`<line x1="${left}" x2="${num(width - 8)}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#e3e3e3"/>`);
    out.push(
      `<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end" ${FONT} fill="#555">${t >= 0.01 ? esc(fmt(t)) : `1e${Math.round(Math.log10(t))}`}</text>`,
    );
  }
  out.push(
    `<text transform="translate(12 ${num(top + plotH / 2)}) rotate(-90)" text-anchor="middle" ${FONT} fill="#555">1 − cosine to FP32</text>`,
  );
  if (limit !== undefined && limit > 0) {
    out.push(
      `<line class="tolerance" x1="${left}" x2="${num(width - 8)}" y1="${num(y(limit))}" y2="${num(y(limit))}" stroke="#b3261e" stroke-dasharray="5 3"><title>tolerance: cosine ${esc(o.tolerance)}</title></line>`,
    );
  }
  if (o.first !== undefined) {
    out.push(
      `<line class="first" x1="${num(x(o.first))}" x2="${num(x(o.first))}" y1="${top - 6}" y2="${top + plotH}" stroke="#b3261e" stroke-width="1"><title>first node past the tolerance</title></line>`,
    );
  }
  o.nodes.forEach((n, i) => {
    if (!Number.isFinite(n.gap)) {
      out.push(
        `<path class="nonfinite" d="M${num(x(i) - 3.5)} ${top - 2}L${num(x(i))} ${top - 9}L${num(x(i) + 3.5)} ${top - 2}Z" fill="${esc(n.color)}" stroke="#b3261e"><title>${esc(n.title)}</title></path>`,
      );
      return;
    }
    out.push(
      `<circle class="dot" cx="${num(x(i))}" cy="${num(y(n.gap))}" r="${step >= 4 ? 2.5 : 1.6}" fill="${esc(n.color)}"><title>${esc(n.title)}</title></circle>`,
    );
  });
  out.push(`<line x1="${left}" x2="${num(width - 8)}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`);
  out.push(`<text x="${left}" y="${top + plotH + 16}" ${FONT} fill="#555">nodes in graph order (${o.nodes.length}) →</text>`);
  out.push('</svg>');
  return out.join('');
}
