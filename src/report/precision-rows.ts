/**
 * Per-node precision of a cell: the lockfile's decision (requested, resolved,
 * reason) joined with what the backend realized (explain), and the ordering
 * of precisions by width that drift detection needs.
 */
import { PRECISION_INFO, type Precision } from '../gen/contract/vocabulary.js';
import { explainRows, lockRows } from './record-view.js';
import type { CellSummary, RunRecord } from '../gen/schema/run-record.js';

export interface PrecisionRow {
  node: string;
  op: string;
  requested?: string;
  resolved?: string;
  /** What the backend ran; undefined when the build did not explain the node. */
  realized?: string;
  /** Why the lockfile resolved it so (POLICY_DEFAULT, POLICY_RULE, RANGE_OVERFLOW, ...). */
  reason?: string;
  rule?: number;
  /** Why the backend realized something else (NO_KERNEL_ON_BACKEND, FUSED, ...). */
  realizedReason?: string;
  detail?: string;
}

/**
 * Bits of a precision, for "got wider" (the vocabulary's: fp16 and bf16 are equally wide,
 * tf32 is fp32 storage with 19-bit math). Anything else ('?' for a fused node, '-' for a node
 * without float math) has no width.
 */
export function precisionBits(p: string | undefined): number | undefined {
  return p !== undefined && Object.hasOwn(PRECISION_INFO, p) ? PRECISION_INFO[p as Precision].bits : undefined;
}

/** True when `to` is a strictly wider precision than `from` (both known). */
export function isWider(from: string | undefined, to: string | undefined): boolean {
  const a = precisionBits(from);
  const b = precisionBits(to);
  return a !== undefined && b !== undefined && b > a;
}

/** Lock rows (graph order) joined with explain rows; explain-only nodes come last. */
export function precisionRows(record: RunRecord, cell: CellSummary): PrecisionRow[] {
  const explained = new Map(explainRows(record, cell).map((r) => [r.node, r]));
  const rows: PrecisionRow[] = [];
  const seen = new Set<string>();
  for (const l of lockRows(record, cell)) {
    seen.add(l.node);
    const e = explained.get(l.node);
    rows.push({
      node: l.node,
      op: l.op,
      requested: l.requested,
      resolved: l.resolved,
      ...(e ? { realized: e.realized } : {}),
      reason: l.reason,
      ...(l.rule !== undefined ? { rule: l.rule } : {}),
      ...(e?.reason ? { realizedReason: e.reason } : {}),
      ...(e?.detail || l.detail ? { detail: e?.detail || l.detail } : {}),
    });
  }
  for (const e of explained.values()) {
    if (seen.has(e.node)) continue;
    rows.push({ node: e.node, op: '', realized: e.realized, ...(e.reason ? { realizedReason: e.reason } : {}), ...(e.detail ? { detail: e.detail } : {}) });
  }
  return rows;
}

/**
 * The precision a node effectively ran in, for drift: the realized one where
 * the backend said (and it is a real precision), else the resolved one.
 */
export function effectivePrecision(r: PrecisionRow): string | undefined {
  if (r.realized !== undefined && precisionBits(r.realized) !== undefined) return r.realized;
  return r.resolved;
}

/**
 * The precision to draw a node in: what ran. A node the backend fused away or
 * could not attribute ('?') has none; only where the backend explains nothing
 * at all does the lockfile's resolved precision stand in.
 */
export function shownPrecision(r: PrecisionRow): string | undefined {
  if (r.realized === undefined) return r.resolved;
  return precisionBits(r.realized) !== undefined ? r.realized : undefined;
}
