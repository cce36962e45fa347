/** `trtpipe explain --errors`: a cell's per-node errors against FP32 as text. */
import { fmt, fmtSimilarity } from './format.js';
import type { CellErrors, NodeError } from './node-errors.js';

export const TOP = 10;

function row(n: NodeError): string[] {
  return [
    n.node,
    n.op,
    `${n.realized}${n.fusedInBuild ? '*' : ''}`,
    fmt(n.added),
    n.impact === undefined ? '–' : fmt(n.impact),
    fmt(n.relError),
    fmtSimilarity(n.cosine),
    fmt(n.maxAbs),
    n.nonfinite ? String(n.nonfinite) : '',
  ];
}

function table(rows: NodeError[]): string[] {
  const header = ['node', 'op', 'ran in', 'adds', 'impact', 'rel error', 'cosine', 'max abs', 'NaN/Inf'];
  const cells = rows.map(row);
  const widths = header.map((h, i) => Math.min(64, Math.max(h.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: string[]) => `  ${c.map((v, i) => (i >= 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

/** The first node past the tolerance, the nodes that add the most error (all, in graph order, with `all`). */
export function renderErrors(e: CellErrors, all: boolean): string {
  const parts = [`${e.cell}: ${e.nodes.length} nodes localized on ${e.samples} samples in ${fmt(e.seconds, 2)} s (${e.backend})`];
  const f = e.firstCrossing;
  if (f) {
    const why = f.nonfinite ? `${f.nonfinite} NaN/Inf values` : `cosine ${fmtSimilarity(f.cosine)}`;
    parts.push(
      `  first node past the tolerance${e.tolerance !== undefined ? ` (cosine ${e.tolerance})` : ' (NaN/Inf)'}: ${f.node} (${f.op}, ran in ${f.realized}): ${why}, adds ${fmt(f.added)}`,
    );
  } else {
    parts.push(
      e.tolerance !== undefined
        ? `  every node's output keeps cosine ${e.tolerance} or better`
        : '  no node makes NaN/Inf (no cosine tolerance in the pipeline to judge by)',
    );
  }
  const shown = all ? e.nodes : e.ranked.slice(0, TOP);
  parts.push(
    all ? '  every node, in graph order:' : `  the ${shown.length} nodes that add the most error (--all: every node):`,
    ...table(shown),
  );
  parts.push(
    "  adds: its own rounding, relative to its FP32 output; impact: 1 - cosine of the model's outputs with only that error (the worst nodes)",
  );
  if (shown.some((n) => n.fusedInBuild))
    parts.push('  *: fused into another layer in the built engine; measured unfused (a captured tensor is kept out of fusions)');
  const missing = Object.entries(e.uncaptured);
  if (missing.length) {
    parts.push(
      `  not captured: ${missing.length} node(s), e.g. ${missing
        .slice(0, 3)
        .map(([n, why]) => `${n} (${why})`)
        .join('; ')}`,
    );
  }
  return parts.join('\n') + '\n';
}
