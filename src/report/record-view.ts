/**
 * Read access to a run record for the reports: where each fact lives in the
 * stage results (lock rows on the transform, explain rows and engine size on
 * the build, repeats on the benchmark). Node ids come from plan/node-id.ts.
 */

/** One lockfile row (transform details.lock). */
export type { LockRow } from '../gen/schema/lock-file.js';
import type { LockRow } from '../gen/schema/lock-file.js';
import { nodeId } from '../plan/node-id.js';
import type { CellSummary, RunRecord, StageRecord } from '../gen/schema/run-record.js';

/** One explain row (build details.explain): what the backend really ran. */
export interface ExplainRow {
  node: string;
  realized: string;
  reason: string;
  detail: string;
}

/** A node of the model as the inspect stage lists it. */
export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
}

/** Per batch size, as the benchmark stage reports it (details.batches[b]). */
export interface BenchmarkBatch {
  latency_p50_ms?: number;
  latency_p90_ms?: number;
  latency_p99_ms?: number;
  latency_mad_ms?: number;
  iterations?: number;
  repeats?: number;
  /** One p50 per independent repeat (benchmark.repeats > 1). */
  repeat_p50_ms?: number[];
  /** One p90 / p99 per independent repeat. */
  repeat_p90_ms?: number[];
  repeat_p99_ms?: number[];
  [k: string]: unknown;
}

export function transformOf(record: RunRecord, cell: CellSummary): StageRecord | undefined {
  return record.stages[nodeId.transform(cell.precision)];
}

export function buildOf(record: RunRecord, cell: CellSummary): StageRecord | undefined {
  return record.stages[nodeId.build(cell.id)];
}

export function benchmarkOf(record: RunRecord, cell: CellSummary): StageRecord | undefined {
  return record.stages[nodeId.benchmark(cell.id)];
}

export function lockRows(record: RunRecord, cell: CellSummary): LockRow[] {
  return (transformOf(record, cell)?.details?.lock as LockRow[] | undefined) ?? [];
}

export function explainRows(record: RunRecord, cell: CellSummary): ExplainRow[] {
  return (buildOf(record, cell)?.details?.explain as ExplainRow[] | undefined) ?? [];
}

/** Nodes per realized precision (the build's explain); for records written before cells carried them too. */
export function withRealizedCounts(record: RunRecord, cell: CellSummary): CellSummary {
  const counts = cell.realizedCounts ?? (buildOf(record, cell)?.details?.realized_counts as Record<string, number> | undefined);
  return counts ? { ...cell, realizedCounts: counts } : cell;
}

export function graphNodes(record: RunRecord): GraphNode[] {
  return (record.stages.inspect?.details?.nodes as GraphNode[] | undefined) ?? [];
}

export function engineBytes(record: RunRecord, cell: CellSummary): number | undefined {
  return buildOf(record, cell)?.metrics?.engine_bytes;
}

/** The benchmark's view of one batch size; falls back to the cell summary for records without details. */
export function benchmarkBatch(record: RunRecord, cell: CellSummary, batch: string): BenchmarkBatch | undefined {
  const details = benchmarkOf(record, cell)?.details?.batches as Record<string, BenchmarkBatch> | undefined;
  return details?.[batch] ?? (cell.latency[batch] as BenchmarkBatch | undefined);
}

/** Batch sizes measured in any cell, ascending. */
export function batchesOf(record: RunRecord): string[] {
  const all = new Set(record.cells.flatMap((c) => Object.keys(c.latency)));
  return [...all].sort((a, b) => Number(a) - Number(b));
}

/** Stage node ids that serve a cell, in record order. */
export function stagesOfCell(record: RunRecord, cell: CellSummary): [string, StageRecord][] {
  return Object.entries(record.stages).filter(([, s]) => s.cells.includes(cell.id));
}

/** top-1 change vs the FP32 reference in percentage points (undefined without labels). */
export function top1DeltaPoints(cell: CellSummary): number | undefined {
  const { top1, reference_top1: ref } = cell.accuracy;
  return top1 !== undefined && ref !== undefined ? (top1 - ref) * 100 : undefined;
}
