/**
 * The report's "where the error comes from" section: per localized cell, the
 * first node past the tolerance, the error along the graph coloured by the
 * precision each node ran in, and the nodes that add the most error.
 */
import type { RunRecord } from '../gen/schema/run-record.js';
import { errorAlongGraph } from './error-chart.js';
import { fmt, fmtSimilarity } from './format.js';
import { localizedCells, type CellErrors, type NodeError } from './node-errors.js';
import { TOP } from './node-errors-text.js';
import { PRECISION_COLORS, precisionColor } from './palette.js';
import { esc } from './xml.js';

function gap(n: NodeError): number {
  return n.nonfinite > 0 || !Number.isFinite(n.cosine) ? Infinity : Math.max(0, 1 - n.cosine);
}

function summary(e: CellErrors): string {
  const f = e.firstCrossing;
  const head = `${esc(e.cell)}: ${e.nodes.length} nodes on ${e.samples} samples, ${fmt(e.seconds, 2)} s (${esc(e.backend)})`;
  if (!f) return `${head}; ${e.tolerance !== undefined ? `every node keeps cosine ${esc(e.tolerance)}` : 'no NaN/Inf'}`;
  const why = f.nonfinite ? `${f.nonfinite} NaN/Inf` : `cosine ${fmtSimilarity(f.cosine)}`;
  return `${head}; first past the tolerance: <code>${esc(f.node)}</code> (${esc(f.op)}, ${esc(f.realized)}): ${why}`;
}

function table(rows: NodeError[]): string {
  const body = rows
    .map((n) => {
      const swatch = `<i style="background:${precisionColor(n.realized)}"></i>`;
      const fused = n.fusedInBuild
        ? ' <span class="muted" title="fused into another layer in the built engine; measured unfused">(fused)</span>'
        : '';
      return `<tr><td class="node">${esc(n.node).replace(/\//g, '/<wbr>')}</td><td>${esc(n.op)}</td><td>${swatch}${esc(n.realized)}${fused}</td><td class="n">${fmt(n.added)}</td><td class="n">${n.impact === undefined ? '–' : fmt(n.impact)}</td><td class="n">${fmt(n.relError)}</td><td class="n">${fmtSimilarity(n.cosine)}</td><td class="n">${fmt(n.maxAbs)}</td><td class="n">${n.nonfinite || ''}</td></tr>`;
    })
    .join('');
  return `<div class="scroll"><table class="nodes errors"><thead><tr><th>node</th><th>op</th><th>ran in</th><th title="its own rounding: its output against the FP32 node run on the inputs it got">adds</th><th title="1 - cosine of the model's outputs with only this node's own error">impact</th><th>rel error</th><th>cosine</th><th>max abs</th><th>NaN/Inf</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

function cellSection(e: CellErrors, open: boolean): string {
  const first = e.firstCrossing ? e.nodes.indexOf(e.firstCrossing) : undefined;
  const chart = errorAlongGraph({
    label: `error along the graph of ${e.cell}`,
    nodes: e.nodes.map((n) => ({
      gap: gap(n),
      color: precisionColor(n.realized),
      title: `${n.node} (${n.op}, ${n.realized}): cosine ${fmtSimilarity(n.cosine)}, adds ${fmt(n.added)}${n.nonfinite ? `, ${n.nonfinite} NaN/Inf` : ''}`,
    })),
    ...(e.tolerance !== undefined ? { tolerance: e.tolerance } : {}),
    ...(first !== undefined && first >= 0 ? { first } : {}),
  });
  const missing = Object.keys(e.uncaptured).length;
  return `<details class="cell-precision"${open ? ' open' : ''}><summary>${summary(e)}</summary><div class="graph-wrap">${chart}</div><p class="muted">The ${Math.min(TOP, e.ranked.length)} nodes that add the most error (adds: the node's own rounding, relative to its FP32 output; impact: 1 − cosine of the model's outputs with only that error in the graph).${missing ? ` ${missing} node(s) could not be captured.` : ''}</p>${table(e.ranked.slice(0, TOP))}</details>`;
}

function legend(cells: CellErrors[]): string {
  const ran = new Set(cells.flatMap((e) => e.nodes.map((n) => n.realized)));
  const items = Object.entries(PRECISION_COLORS)
    .filter(([p]) => ran.has(p))
    .map(([p, c]) => `<span class="key"><i style="background:${c}"></i>${p}</span>`);
  if ([...ran].some((p) => !(p in PRECISION_COLORS)))
    items.push(`<span class="key"><i style="background:${precisionColor(undefined)}"></i>fused / not explained</span>`);
  items.push(
    '<span class="key">▲ NaN/Inf</span>',
    '<span class="key">- - tolerance</span>',
    '<span class="key">| first node past it</span>',
  );
  return `<div class="legend">${items.join('')}</div>`;
}

/** Empty when no cell was localized (evaluate.localize is off). */
export function errorsSection(record: RunRecord): string {
  const cells = localizedCells(record);
  if (!cells.length) return '';
  return legend(cells) + cells.map((e, i) => cellSection(e, i === 0)).join('');
}
