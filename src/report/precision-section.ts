/**
 * The per-node precision part of the HTML report: for each cell, a picture of
 * the graph coloured by the precision each node ran in, and the table of
 * requested / resolved / realized precision with the reasons.
 */
import { graphSvg } from './graph-svg.js';
import { NO_PRECISION_COLOR, PRECISION_COLORS, precisionColor } from './palette.js';
import { precisionBits, precisionRows, shownPrecision, type PrecisionRow } from './precision-rows.js';
import { graphNodes } from './record-view.js';
import { esc } from './xml.js';
import type { CellSummary, RunRecord } from '../gen/schema/run-record.js';

/** The backend ran the node in another precision than the lockfile resolved. */
export function ranDifferently(r: PrecisionRow): boolean {
  return r.realized !== undefined && precisionBits(r.realized) !== undefined && r.resolved !== undefined && precisionBits(r.resolved) !== undefined && r.realized !== r.resolved;
}

export function precisionLegend(): string {
  const items = Object.entries(PRECISION_COLORS).map(([p, c]) => `<span class="key"><i style="background:${c}"></i>${p}</span>`);
  items.push(`<span class="key"><i style="background:${NO_PRECISION_COLOR}"></i>fused / no float math / not explained</span>`);
  items.push('<span class="key"><i class="flag"></i>ran in another precision than resolved</span>');
  return `<div class="legend">${items.join('')}</div>`;
}

function counts(rows: PrecisionRow[], pick: (r: PrecisionRow) => string | undefined): string {
  const n = new Map<string, number>();
  for (const r of rows) {
    const p = pick(r);
    if (p !== undefined) n.set(p, (n.get(p) ?? 0) + 1);
  }
  return [...n].map(([p, k]) => `${esc(p)} ${k}`).join(', ') || '–';
}

function cellSection(record: RunRecord, cell: CellSummary, open: boolean): string {
  const rows = precisionRows(record, cell);
  const byNode = new Map(rows.map((r) => [r.node, r]));
  const nodes = graphNodes(record);
  const graph = graphSvg(
    nodes,
    (n) => {
      const r = byNode.get(n.name);
      const p = r ? shownPrecision(r) : undefined;
      const why = r ? [r.realizedReason, r.reason].filter(Boolean).join(', ') : 'not in the lockfile';
      return {
        color: precisionColor(p),
        flagged: r ? ranDifferently(r) : false,
        title: `${n.name} (${n.op}): ${r?.realized ?? r?.resolved ?? '?'}${why ? ` [${why}]` : ''}`,
      };
    },
    `graph of ${cell.name} coloured by realized precision`,
  );
  const body = rows
    .map((r) => {
      const cls = ranDifferently(r) ? ' class="diff"' : '';
      const realized = r.realized ?? '–';
      const swatch = `<i style="background:${precisionColor(shownPrecision(r))}"></i>`;
      const reason = [r.reason, r.rule !== undefined ? `rule ${r.rule}` : ''].filter(Boolean).join(' ');
      // Long node paths break after a '/' instead of widening the table past the page.
      return `<tr${cls}><td class="node">${esc(r.node).replace(/\//g, '/<wbr>')}</td><td>${esc(r.op)}</td><td>${esc(r.requested ?? '–')}</td><td>${esc(r.resolved ?? '–')}</td><td>${swatch}${esc(realized)}</td><td>${esc(reason)}</td><td>${esc(r.realizedReason ?? '')}</td><td class="detail">${esc(r.detail ?? '')}</td></tr>`;
    })
    .join('');
  const changed = rows.filter(ranDifferently).length;
  const summary = `${esc(cell.name)}: ${rows.length} nodes; resolved ${counts(rows, (r) => r.resolved)}; realized ${counts(rows, (r) => r.realized)}${changed ? `; <b>${changed} ran in another precision</b>` : ''}`;
  const table = rows.length
    ? `<div class="scroll rows"><table class="nodes"><thead><tr><th>node</th><th>op</th><th>requested</th><th>resolved</th><th>realized</th><th>lock reason</th><th>backend reason</th><th>detail</th></tr></thead><tbody>${body}</tbody></table></div>`
    : '<p class="muted">No lockfile or explain rows for this cell (its transform or build did not complete).</p>';
  return `<details class="cell-precision"${open ? ' open' : ''}><summary>${summary}</summary><div class="graph-wrap">${graph}</div>${table}</details>`;
}

/** One folded section per cell; the first low-precision cell starts open. */
export function precisionSection(record: RunRecord): string {
  const openId = (record.cells.find((c) => c.precision !== 'fp32' && c.status === 'ok') ?? record.cells[0])?.id;
  return precisionLegend() + record.cells.map((c) => cellSection(record, c, c.id === openId)).join('');
}
