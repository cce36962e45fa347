/**
 * The explain table of a cell: per ONNX node the requested and resolved
 * precision (lockfile), the realized one (the backend's explain), and why;
 * plus the share of nodes and FLOPs per precision.
 */
import type { RunRecord } from '../store/run-record.js';

export interface ExplainRow {
  node: string;
  op: string;
  requested: string;
  resolved: string;
  realized: string;
  reason: string;
  detail: string;
  flops: number;
}

export interface CellExplain {
  cell: string;
  rows: ExplainRow[];
  /** precision -> [nodes, flops], by resolved and by realized precision. */
  resolvedShare: Record<string, [number, number]>;
  realizedShare: Record<string, [number, number]>;
}

interface LockRow { node: string; op: string; requested: string; resolved: string; reason: string; detail?: string; rule?: number }
interface RealizedRow { node: string; realized: string; reason: string; detail: string }

export function explainCell(record: RunRecord, cellId: string): CellExplain | undefined {
  const cell = record.cells.find((c) => c.id === cellId || c.name === cellId);
  if (!cell) return undefined;
  const transform = record.stages[`transform@${cell.precision}`];
  const build = record.stages[`build@${cell.id}`];
  const lock = (transform?.details?.lock as LockRow[] | undefined) ?? [];
  const flops = (transform?.details?.node_flops as Record<string, number> | undefined) ?? {};
  const realized = new Map(((build?.details?.explain as RealizedRow[] | undefined) ?? []).map((r) => [r.node, r]));
  const rows = lock.map((l) => {
    const r = realized.get(l.node);
    // The backend's reason wins where it changed the outcome; otherwise the policy's.
    const backendSays = r && l.resolved !== '-' && r.realized !== l.resolved && r.realized !== '?';
    return {
      node: l.node,
      op: l.op,
      requested: l.requested,
      resolved: l.resolved,
      realized: l.resolved === '-' ? '-' : (r?.realized ?? '?'),
      reason: backendSays ? r.reason : l.reason + (l.rule !== undefined ? `[rule ${l.rule}]` : ''),
      detail: backendSays ? r.detail : (l.detail ?? r?.detail ?? ''),
      flops: flops[l.node] ?? 0,
    };
  });
  return { cell: cell.name, rows, resolvedShare: share(rows, 'resolved'), realizedShare: share(rows, 'realized') };
}

function share(rows: ExplainRow[], key: 'resolved' | 'realized'): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const r of rows) {
    const e = (out[r[key]] ??= [0, 0]);
    e[0] += 1;
    e[1] += r.flops;
  }
  return out;
}
