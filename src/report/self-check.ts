/**
 * The latency self-check: cells that ran the identical engine (same built
 * bytes, same benchmark settings, same host) must measure the same latency,
 * whatever their target is called. Two such cells that disagree beyond their
 * measured noise mean the run was contaminated (something shared the device
 * during one of the timing loops): the cheapest detector there is.
 *
 * Pairs count only when they are independent measurements: the same
 * benchmark result served from the cache to both cells proves nothing.
 */
import { canonicalJson } from '../plan/canonical.js';
import { latencySample } from './compare.js';
import { estimateLatency, NOISE_Z } from './noise.js';
import { benchmarkBatch, benchmarkOf, buildOf } from './record-view.js';
import type { CellSummary, RunRecord } from '../gen/schema/run-record.js';

/**
 * Two p50s of one engine disagree when they differ by more than this share
 * AND by more than NOISE_Z standard errors of the difference. The floor keeps
 * very precise measurements (thousands of iterations) from flagging the few
 * percent that clocks and caches move between two loops a second apart.
 */
export const SELF_CHECK_FLOOR = 0.05;

export interface SelfCheckPair {
  /** Cell names; `a` ran first in the record's order. */
  a: string;
  b: string;
  batch: string;
  p50a: number;
  p50b: number;
  /** p50b / p50a. */
  ratio: number;
  /** The relative difference they may have: max(SELF_CHECK_FLOOR, NOISE_Z x se of the difference / p50a). */
  tolerance: number;
  agree: boolean;
}

export interface SelfCheck {
  /** Groups of two or more cells sharing an engine and benchmark settings. */
  groups: string[][];
  pairs: SelfCheckPair[];
  disagreements: number;
}

export function latencySelfCheck(record: RunRecord): SelfCheck {
  const groups = new Map<string, CellSummary[]>();
  for (const cell of record.cells) {
    if (cell.status !== 'ok') continue;
    const engine = buildOf(record, cell)?.outputs?.engine?.sha256;
    const bench = benchmarkOf(record, cell);
    if (!engine || !bench || bench.status !== 'done') continue;
    const key = canonicalJson({ engine, params: bench.params, host: record.runners[cell.target]?.hostname ?? '' });
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  const shared = [...groups.values()].filter((g) => g.length > 1);
  const pairs: SelfCheckPair[] = [];
  for (const group of shared) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        if (!independent(record, group[i]!, group[j]!)) continue;
        for (const batch of Object.keys(group[i]!.latency)) pairs.push(...comparePair(record, group[i]!, group[j]!, batch));
      }
    }
  }
  return { groups: shared.map((g) => g.map((c) => c.name)), pairs, disagreements: pairs.filter((p) => !p.agree).length };
}

/** Two measurements, not one result served twice from the cache. */
function independent(record: RunRecord, a: CellSummary, b: CellSummary): boolean {
  const x = benchmarkOf(record, a)!;
  const y = benchmarkOf(record, b)!;
  return !(x.key && x.key === y.key && (x.cached || y.cached));
}

function comparePair(record: RunRecord, a: CellSummary, b: CellSummary, batch: string): SelfCheckPair[] {
  const x = benchmarkBatch(record, a, batch);
  const y = benchmarkBatch(record, b, batch);
  if (typeof x?.latency_p50_ms !== 'number' || typeof y?.latency_p50_ms !== 'number') return [];
  const ex = estimateLatency(latencySample(x, 'latency_p50_ms', 'repeat_p50_ms'), 0.5);
  const ey = estimateLatency(latencySample(y, 'latency_p50_ms', 'repeat_p50_ms'), 0.5);
  const tolerance = Math.max(SELF_CHECK_FLOOR, (NOISE_Z * Math.hypot(ex.se, ey.se)) / ex.center);
  const ratio = ey.center / ex.center;
  return [{ a: a.name, b: b.name, batch, p50a: ex.center, p50b: ey.center, ratio, tolerance, agree: Math.abs(ratio - 1) <= tolerance }];
}
