/**
 * Comparison of two run records cell by cell (matched by cell id, e.g.
 * `fp16-cpu`): latency medians against their noise band, accuracy, engine
 * size and per-node precision drift. Pure data; gates.ts judges it and the
 * renderers show it.
 */
import { compareLatency, type LatencySample } from './noise.js';
import { effectivePrecision, isWider, precisionRows, type PrecisionRow } from './precision-rows.js';
import { batchesOf, benchmarkBatch, engineBytes, type BenchmarkBatch } from './record-view.js';
import type { CellSummary, MedianChange, RunRecord } from '../gen/schema/run-record.js';
import type { HistoryEntry } from '../store/history.js';
import type { CellComparison, DriftNode, LatencyComparison, RunComparison } from '../gen/schema/run-record.js';

/** Earlier runs whose spread sets the run-to-run noise (the most recent ones). */
const HISTORY_WINDOW = 10;

/**
 * Compares `current` with `baseline` cell by cell. `history` (history.jsonl
 * entries) supplies the run-to-run noise: earlier runs of the same pipeline
 * and cell on the same runner host.
 */
export function compareRuns(baseline: RunRecord, current: RunRecord, baselineName?: string, history: HistoryEntry[] = []): RunComparison {
  const byId = new Map(baseline.cells.map((c) => [c.id, c]));
  const earlier = history.filter((e) => e.pipeline === current.pipeline.name && e.id !== current.id && e.id < current.id);
  return {
    baseline: { id: baseline.id, pipeline: baseline.pipeline.name, ...(baselineName ? { name: baselineName } : {}) },
    current: { id: current.id, pipeline: current.pipeline.name },
    cells: current.cells.map((c) => compareCell(baseline, byId.get(c.id), current, c, earlier)),
  };
}

/** Values of one latency statistic of a cell in earlier runs on the same host, newest last. */
function pastValues(earlier: HistoryEntry[], record: RunRecord, cell: CellSummary, batch: string, stat: 'p50' | 'p90' | 'p99'): number[] {
  const host = record.runners[cell.target]?.hostname;
  return earlier
    .map((e) => e.cells[cell.id])
    .filter((h) => h && h.status === 'ok' && (!h.host || !host || h.host === host))
    .map((h) => h!.latency[batch]?.[stat])
    .filter((v): v is number => typeof v === 'number')
    .slice(-HISTORY_WINDOW);
}

function compareCell(baseRecord: RunRecord, base: CellSummary | undefined, curRecord: RunRecord, cur: CellSummary, earlier: HistoryEntry[]): CellComparison {
  const head = { cell: cur.id, name: cur.name, precision: cur.precision, target: cur.target, latency: [], accuracy: {}, widened: [], narrowed: [] };
  if (!base) return { ...head, status: 'not-in-baseline' };
  if (base.status !== 'ok' || cur.status !== 'ok') return { ...head, status: 'incomplete' };
  const latency: LatencyComparison[] = [];
  const baseBatches = new Set(batchesOf(baseRecord));
  for (const batch of batchesOf(curRecord).filter((b) => baseBatches.has(b))) {
    const b = benchmarkBatch(baseRecord, base, batch);
    const c = benchmarkBatch(curRecord, cur, batch);
    if (!b || !c) continue;
    const p50 = pair(b, c, 'latency_p50_ms', 'repeat_p50_ms', 0.5, pastValues(earlier, curRecord, cur, batch, 'p50'));
    const p90 = pair(b, c, 'latency_p90_ms', 'repeat_p90_ms', 0.9, pastValues(earlier, curRecord, cur, batch, 'p90'));
    const p99 = pair(b, c, 'latency_p99_ms', 'repeat_p99_ms', 0.99, pastValues(earlier, curRecord, cur, batch, 'p99'));
    latency.push({ batch, ...(p50 ? { p50 } : {}), ...(p90 ? { p90 } : {}), ...(p99 ? { p99 } : {}) });
  }
  const ba = base.accuracy;
  const ca = cur.accuracy;
  const bBytes = engineBytes(baseRecord, base);
  const cBytes = engineBytes(curRecord, cur);
  const drift = precisionDrift(precisionRows(baseRecord, base), precisionRows(curRecord, cur));
  const accuracy: CellComparison['accuracy'] = {};
  for (const [k, v] of Object.entries(ca)) if (typeof v === 'number' && typeof ba[k] === 'number') accuracy[k] = { baseline: ba[k]!, current: v };
  return {
    ...head,
    status: 'compared',
    latency,
    accuracy,
    ...(ba.top1 !== undefined && ca.top1 !== undefined
      ? { top1: { baseline: ba.top1, current: ca.top1, deltaPoints: (ca.top1 - ba.top1) * 100 } }
      : {}),
    ...(ba.cosine !== undefined && ca.cosine !== undefined ? { cosine: { baseline: ba.cosine, current: ca.cosine, delta: ca.cosine - ba.cosine } } : {}),
    ...(ba.rel_p99 !== undefined && ca.rel_p99 !== undefined ? { relP99: { baseline: ba.rel_p99, current: ca.rel_p99 } } : {}),
    ...(bBytes !== undefined && cBytes !== undefined
      ? { engineBytes: { baseline: bBytes, current: cBytes, delta: cBytes - bBytes, relative: bBytes > 0 ? (cBytes - bBytes) / bBytes : Number.NaN } }
      : {}),
    ...drift,
  };
}

type LatencyKey = 'latency_p50_ms' | 'latency_p90_ms' | 'latency_p99_ms';
type RepeatKey = 'repeat_p50_ms' | 'repeat_p90_ms' | 'repeat_p99_ms';

function pair(b: BenchmarkBatch, c: BenchmarkBatch, key: LatencyKey, repeatsKey: RepeatKey, q: number, past: number[]): MedianChange | undefined {
  if (typeof b[key] !== 'number' || typeof c[key] !== 'number') return undefined;
  return compareLatency(latencySample(b, key, repeatsKey), latencySample(c, key, repeatsKey), q, past);
}

/** One latency statistic of a benchmark batch as noise.ts takes it. */
export function latencySample(s: BenchmarkBatch, key: LatencyKey, repeatsKey: RepeatKey): LatencySample {
  return {
    value: s[key]!,
    ...(Array.isArray(s[repeatsKey]) ? { repeats: s[repeatsKey] } : {}),
    ...(typeof s.latency_mad_ms === 'number' ? { madMs: s.latency_mad_ms } : {}),
    ...(typeof s.iterations === 'number' ? { iterations: s.iterations } : {}),
  };
}

/**
 * Nodes whose precision changed width, by node name. The realized precision
 * (explain) is what ran, so it is checked first; the resolved one (lockfile)
 * catches drift on backends that do not explain, or explain partially.
 */
export function precisionDrift(base: PrecisionRow[], cur: PrecisionRow[]): { widened: DriftNode[]; narrowed: DriftNode[] } {
  const before = new Map(base.map((r) => [r.node, r]));
  const widened: DriftNode[] = [];
  const narrowed: DriftNode[] = [];
  for (const r of cur) {
    const b = before.get(r.node);
    if (!b) continue;
    const checks: { kind: DriftNode['kind']; from?: string; to?: string }[] = [];
    if (b.realized !== undefined && r.realized !== undefined) checks.push({ kind: 'realized', from: effectivePrecision(b), to: effectivePrecision(r) });
    checks.push({ kind: 'resolved', from: b.resolved, to: r.resolved });
    const wider = checks.find((x) => isWider(x.from, x.to));
    const narrower = wider ? undefined : checks.find((x) => isWider(x.to, x.from));
    const hit = wider ?? narrower;
    if (!hit) continue;
    // Why it is where it is now: the backend's reason for a realized change, the lockfile's for a resolved one.
    const reason = hit.kind === 'realized' ? r.realizedReason || r.reason : r.reason;
    (wider ? widened : narrowed).push({ node: r.node, op: r.op, kind: hit.kind, from: hit.from!, to: hit.to!, ...(reason ? { reason } : {}) });
  }
  return { widened, narrowed };
}

/** One line of "top regressions": something that got worse, in its own unit. */
export interface Regression {
  cell: string;
  metric: string;
  baseline: number;
  current: number;
  unit: 'ms' | 'points' | 'cosine' | 'bytes';
  /** Relative change (latency, size) or points (top-1) or absolute (cosine). */
  change: number;
  /** Latency only: the noise band, relative to the baseline. */
  band?: number;
}

/**
 * What got worse, worst first within each kind: accuracy drops, then latency
 * regressions outside the noise band, then engine growth. Changes inside the
 * noise band are not regressions.
 */
export function topRegressions(cmp: RunComparison, limit = 8): Regression[] {
  const acc: Regression[] = [];
  const lat: Regression[] = [];
  const size: Regression[] = [];
  for (const c of cmp.cells) {
    if (c.top1 && c.top1.deltaPoints < -1e-9) acc.push({ cell: c.name, metric: 'top-1', baseline: c.top1.baseline, current: c.top1.current, unit: 'points', change: c.top1.deltaPoints });
    if (c.cosine && c.cosine.delta < -1e-12) acc.push({ cell: c.name, metric: 'cosine', baseline: c.cosine.baseline, current: c.cosine.current, unit: 'cosine', change: c.cosine.delta });
    for (const l of c.latency) {
      for (const [label, m] of [['p50', l.p50], ['p99', l.p99]] as const) {
        if (m && m.significant && m.delta > 0) {
          lat.push({ cell: c.name, metric: `${label} b${l.batch}`, baseline: m.baseline.center, current: m.current.center, unit: 'ms', change: m.relative, band: m.bandRelative });
        }
      }
    }
    if (c.engineBytes && c.engineBytes.delta > 0) size.push({ cell: c.name, metric: 'engine size', baseline: c.engineBytes.baseline, current: c.engineBytes.current, unit: 'bytes', change: c.engineBytes.relative });
  }
  // top-1 points and cosine are on different scales: order each by its own.
  acc.sort((a, b) => (a.unit === b.unit ? a.change - b.change : a.unit === 'points' ? -1 : 1));
  lat.sort((a, b) => b.change - a.change);
  size.sort((a, b) => b.change - a.change);
  return [...acc, ...lat, ...size].slice(0, limit);
}
