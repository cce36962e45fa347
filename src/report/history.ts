/**
 * History: one compact line per run in .trtpipe/history.jsonl (id, time,
 * pipeline, per-cell key metrics), read back for the trend charts. The file
 * I/O and the line's type live in store/history.ts; this file decides what a line holds.
 */
import type { HistoryCell, HistoryEntry } from '../store/history.js';
import { engineBytes } from './record-view.js';
import type { RunRecord } from '../gen/schema/run-record.js';

export function historyEntry(record: RunRecord): HistoryEntry {
  const cells: Record<string, HistoryCell> = {};
  for (const c of record.cells) {
    const latency: HistoryCell['latency'] = {};
    for (const [b, l] of Object.entries(c.latency)) {
      latency[b] = {
        ...(l.latency_p50_ms !== undefined ? { p50: l.latency_p50_ms } : {}),
        ...(l.latency_p90_ms !== undefined ? { p90: l.latency_p90_ms } : {}),
        ...(l.latency_p99_ms !== undefined ? { p99: l.latency_p99_ms } : {}),
      };
    }
    const size = engineBytes(record, c);
    cells[c.id] = {
      precision: c.precision,
      target: c.target,
      status: c.status,
      ...(record.runners[c.target]?.hostname ? { host: record.runners[c.target]!.hostname } : {}),
      latency,
      ...(c.accuracy.top1 !== undefined ? { top1: c.accuracy.top1 } : {}),
      ...(c.accuracy.cosine !== undefined ? { cosine: c.accuracy.cosine } : {}),
      ...(c.accuracy.rel_p99 !== undefined ? { rel_p99: c.accuracy.rel_p99 } : {}),
      ...(size !== undefined ? { engine_bytes: size } : {}),
    };
  }
  const g = record.gates;
  return {
    id: record.id,
    time: record.finished,
    pipeline: record.pipeline.name,
    status: record.status,
    ...(record.provenance?.git ? { commit: record.provenance.git.commit } : {}),
    ...(record.comparison ? { baseline: record.comparison.baseline.name ?? record.comparison.baseline.id } : {}),
    ...(g ? { gates: { passed: g.passed, failed: g.failed, skipped: g.skipped } } : {}),
    cells,
  };
}

/**
 * The history a report of `record` shows: earlier runs of the same pipeline
 * (never later ones, so re-rendering an old run shows what was known then),
 * oldest first, the run itself last, at most `limit` runs.
 */
export function historyFor(record: RunRecord, entries: HistoryEntry[], limit = 30): HistoryEntry[] {
  const before = entries.filter((e) => e.pipeline === record.pipeline.name && e.id < record.id);
  before.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const own = entries.find((e) => e.id === record.id) ?? historyEntry(record);
  return [...before.slice(-(limit - 1)), own];
}

/** One metric of one cell over the runs (undefined where a run lacks it). */
export function series(entries: HistoryEntry[], cell: string, pick: (c: HistoryCell) => number | undefined): (number | undefined)[] {
  return entries.map((e) => {
    const c = e.cells[cell];
    return c && c.status === 'ok' ? pick(c) : undefined;
  });
}
