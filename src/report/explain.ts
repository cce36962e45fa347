/**
 * The explain table of a cell: per ONNX node the requested and resolved
 * precision (lockfile), the realized one (the backend's explain), and why;
 * plus the share of nodes and FLOPs per precision.
 */
import { nodeId } from '../plan/node-id.js';
import type { RunRecord } from '../gen/schema/run-record.js';

export interface ExplainRow {
  node: string;
  op: string;
  requested: string;
  resolved: string;
  realized: string;
  /** The policy's reason, and the backend's where it has one (EMULATED, FUSED, NO_KERNEL_ON_BACKEND, ...). */
  reason: string;
  detail: string;
  flops: number;
}

export interface CellExplain {
  cell: string;
  rows: ExplainRow[];
  /**
   * precision -> [nodes, flops], by resolved and by realized precision, over the
   * nodes that do float math (resolved is not '-'): each adds up to every such
   * node and all their FLOPs. A realized '?' is a node the backend fused away
   * or could not attribute.
   */
  resolvedShare: Record<string, [number, number]>;
  realizedShare: Record<string, [number, number]>;
  /** Nodes and FLOPs the shares add up to. */
  total: { nodes: number; flops: number };
}

interface LockRow { node: string; op: string; requested: string; resolved: string; reason: string; detail?: string; rule?: number }
interface RealizedRow { node: string; realized: string; reason: string; detail: string }

/** FLOPs per node: counted by the reference stage at the evaluated shapes (older records: the transform, at batch 1). */
export function nodeFlops(record: RunRecord, precision: string): Record<string, number> {
  return (record.stages.reference?.details?.node_flops ?? record.stages[nodeId.transform(precision)]?.details?.node_flops ?? {}) as Record<string, number>;
}

export function explainCell(record: RunRecord, cellId: string): CellExplain | undefined {
  const cell = record.cells.find((c) => c.id === cellId || c.name === cellId);
  if (!cell) return undefined;
  const transform = record.stages[nodeId.transform(cell.precision)];
  const build = record.stages[nodeId.build(cell.id)];
  const lock = (transform?.details?.lock as LockRow[] | undefined) ?? [];
  const flops = nodeFlops(record, cell.precision);
  const realized = new Map(((build?.details?.explain as RealizedRow[] | undefined) ?? []).map((r) => [r.node, r]));
  const rows = lock.map((l) => {
    const r = realized.get(l.node);
    const policyReason = l.reason + (l.rule !== undefined ? `[rule ${l.rule}]` : '');
    // The backend's reason replaces the policy's where it changed the outcome, and is
    // added where it qualifies it (EMULATED: computed in fp32, stored rounded; FUSED).
    const changed = r && l.resolved !== '-' && r.realized !== l.resolved && r.realized !== '?';
    const qualifies = r && l.resolved !== '-' && !changed && r.reason && r.reason !== l.reason;
    return {
      node: l.node,
      op: l.op,
      requested: l.requested,
      resolved: l.resolved,
      realized: l.resolved === '-' ? '-' : !r || r.realized === '-' ? '?' : r.realized,
      reason: changed ? r.reason : qualifies ? `${policyReason}+${r.reason}` : policyReason,
      detail: changed ? r.detail : [l.detail, qualifies ? r.detail : ''].filter(Boolean).join('; '),
      flops: l.resolved === '-' ? 0 : (flops[l.node] ?? 0),
    };
  });
  const counted = rows.filter((r) => r.resolved !== '-');
  return {
    cell: cell.name,
    rows,
    resolvedShare: share(counted, 'resolved'),
    realizedShare: share(counted, 'realized'),
    total: { nodes: counted.length, flops: counted.reduce((s, r) => s + r.flops, 0) },
  };
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
