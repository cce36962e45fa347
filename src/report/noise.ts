/**
 * Noise estimates for latency statistics, so a regression gate judges a
 * change against how much the measurement wobbles on its own.
 *
 * A latency figure (p50 or p99 of one benchmark) comes with an uncertainty
 * from three sources, each estimated from repeated measurements:
 * - the spread of the timed iterations inside one run (MAD / sqrt(n));
 * - the spread between repeats of the benchmark inside one run
 *   (`benchmark.repeats`, one p50/p99 per repeat);
 * - the spread between whole runs on the same runner (earlier runs of the
 *   cell in .trtpipe/history.jsonl): another process, other caches, clocks
 *   and neighbours. On a shared 2-core CI machine this one dominates: medians
 *   of back-to-back repeats agreed within 2% while two runs a second apart
 *   differed by 40-70%.
 */
import type { BatchNoise, CellNoise, LatencyEstimate, MedianChange } from '../gen/schema/run-record.js';

/** The median of a non-empty list (the mean of the middle two for even lengths). */
export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median absolute deviation from the median. */
export function mad(values: number[]): number {
  const m = median(values);
  return median(values.map((v) => Math.abs(v - m)));
}

/** Sample standard deviation (n - 1); 0 for fewer than two values. */
export function stdev(values: number[]): number {
  if (values.length < 2) return 0;
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** MAD -> standard deviation for normally distributed data. */
const MAD_TO_SIGMA = 1.4826;

/**
 * Standard error of the p-quantile of n normal samples, in units of their
 * standard deviation: sqrt(p(1-p)) / phi(Phi^-1(p)) / sqrt(n). 1.2533 for the
 * median, 3.733 for p99. Latency tails are heavier than normal, so for p99
 * this is a lower bound; repeats give the honest figure.
 */
export function quantileSeFactor(p: number): number {
  const z = normalQuantile(p);
  const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  return Math.sqrt(p * (1 - p)) / density;
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must lie in (0, 1), not ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** What one benchmark says about one latency statistic of one batch size. */
export interface LatencySample {
  /** The statistic over all timed iterations (ms). */
  value: number;
  /** One value per independent repeat (ms), when the benchmark was repeated. */
  repeats?: number[];
  /** Within-run MAD of the single iterations (ms). */
  madMs?: number;
  /** Timed iterations behind `value`. */
  iterations?: number;
}

/**
 * Center and standard error of a latency statistic (quantile `q`, 0.5 for p50).
 * With two or more repeats the error is the larger of the between-repeat
 * estimate (robust: MAD of the per-repeat values) and the within-run one.
 */
export function estimateLatency(s: LatencySample, q: number): LatencyEstimate {
  const reps = (s.repeats ?? []).filter((v) => Number.isFinite(v));
  const n = s.iterations ?? 0;
  const within = s.madMs !== undefined && n > 0 ? (quantileSeFactor(q) * MAD_TO_SIGMA * s.madMs) / Math.sqrt(n) : undefined;
  if (reps.length >= 2) {
    // The median of R values has a standard error of ~1.2533 sigma / sqrt(R).
    // sigma is the plain standard deviation, not a robust one: latency noise
    // has heavy tails, and a gate must not call a tail a regression.
    const between = (quantileSeFactor(0.5) * stdev(reps)) / Math.sqrt(reps.length);
    return { center: median(reps), se: Math.max(between, within ?? 0), source: 'repeats', repeats: reps.length };
  }
  if (within !== undefined) return { center: s.value, se: within, source: 'within-run', repeats: 1 };
  return { center: s.value, se: 0, source: 'none', repeats: 1 };
}

/**
 * How many standard errors of the difference a change must exceed to count as
 * real. Three keeps the false-alarm rate of one comparison near 0.1%, which
 * matters when a nightly run compares dozens of (cell, batch, statistic) pairs.
 */
export const NOISE_Z = 3;

/** Fewest earlier runs whose spread is trusted as the run-to-run noise. */
export const MIN_HISTORY_RUNS = 3;

/**
 * Run-to-run standard deviation of a statistic from its values in earlier
 * runs; undefined with fewer than MIN_HISTORY_RUNS values. Deliberately not
 * robust: on a shared machine the occasional slow run is the noise a gate
 * must tolerate (measured here: run medians 18, 19, 20, 22, 31 µs; a MAD
 * ignores the 31 and the gate then fails on the next 22). The price: for as
 * many runs as the window holds, an accepted step change widens the band.
 */
export function runToRunSigma(values: number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length >= MIN_HISTORY_RUNS ? stdev(v) : undefined;
}

/**
 * The change of a latency statistic and its noise band: NOISE_Z standard
 * errors of the difference, from the repeats of both runs or, when larger,
 * from the run-to-run spread in `history` (values of earlier runs): the
 * difference of two runs varies by sqrt(2) of one run's spread.
 */
export function compareLatency(baseline: LatencySample, current: LatencySample, q: number, history: number[] = []): MedianChange {
  const b = estimateLatency(baseline, q);
  const c = estimateLatency(current, q);
  const delta = c.center - b.center;
  const sigma = runToRunSigma(history);
  const measured = Math.hypot(b.se, c.se);
  const fromHistory = sigma !== undefined ? Math.SQRT2 * sigma : 0;
  const band = NOISE_Z * Math.max(measured, fromHistory);
  const source = fromHistory > measured ? 'history' : b.source === 'none' || c.source === 'none' ? 'none' : b.source === 'repeats' && c.source === 'repeats' ? 'repeats' : 'within-run';
  return {
    baseline: b,
    current: c,
    ...(sigma !== undefined ? { history: { sigma, runs: history.length } } : {}),
    bandSource: source,
    delta,
    relative: b.center > 0 ? delta / b.center : Number.NaN,
    band,
    bandRelative: b.center > 0 ? band / b.center : Number.NaN,
    significant: Math.abs(delta) > band,
  };
}

/**
 * The noise figure of a batch size from its benchmark statistics: `repeat_cv`
 * (the spread of the per-repeat p50s, what the gates' noise band is made of)
 * when the benchmark was repeated, else `cv` (robust spread of the single
 * iterations). Undefined for records from before these were measured.
 */
export function batchNoise(stats: Record<string, number | undefined> | undefined): BatchNoise | undefined {
  if (typeof stats?.repeat_cv === 'number') return { cv: stats.repeat_cv, source: 'repeats' };
  if (typeof stats?.cv === 'number') return { cv: stats.cv, source: 'iterations' };
  return undefined;
}

/** The noise of a cell from its latency summary (cells[].latency), judged against `threshold` (0.1 = 10%). */
export function cellNoise(latency: Record<string, Record<string, number>>, threshold: number): CellNoise | undefined {
  const batches: Record<string, BatchNoise> = {};
  for (const [b, stats] of Object.entries(latency)) {
    const n = batchNoise(stats);
    if (n) batches[b] = n;
  }
  const values = Object.values(batches).map((n) => n.cv);
  if (!values.length) return undefined;
  const cv = Math.max(...values);
  return { batches, cv, threshold, noisy: cv > threshold };
}

/** Whether one batch size of a cell is over the noise threshold. */
export function isNoisy(noise: CellNoise | undefined, batch: string): boolean {
  const n = noise?.batches[batch];
  return n !== undefined && n.cv > noise!.threshold;
}
