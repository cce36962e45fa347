/**
 * Regression gates (the pipeline's `gates:`), judged per cell on a
 * comparison with a baseline run. Pure: returns data; src/cli maps a failed
 * gate to exit code 4.
 *
 * - latency_p50 / latency_p99 {regress_max}: fails when the median got slower
 *   by more than regress_max AND by more than the noise band (noise.ts), so a
 *   noisy machine cannot fail the gate by chance. "5%" is relative to the
 *   baseline; a plain number is milliseconds.
 * - top1 {drop_max}: task top-1 may drop at most drop_max percentage points.
 * - cosine {drop_max}: cosine similarity to the FP32 reference may drop at most drop_max.
 *   Without a baseline these two compare with the run's own FP32 reference.
 * - precision_drift {allow}: a node whose realized (or resolved) precision got
 *   wider than in the baseline fails the gate unless allow: true.
 * - engine_size {growth_max}: "10%" relative, a plain number in bytes.
 * - latency_p90: as latency_p50, on p90.
 * - top1_agreement {drop_max}: agreement with the FP32 reference's top-1 may
 *   drop at most drop_max percentage points.
 * - max_abs / mean_abs / rel_p99 {rise_max}: the error against the FP32
 *   reference may rise at most rise_max ("10%" relative, or absolute).
 */
import type { BatchVerdict, CellComparison, CellNoise, GateCheck, GateReport, Gates, RunComparison, RunRecord } from '../gen/schema/run-record.js';
import { bytes, fmt, fmtSimilarity, ms, signedPct } from './format.js';
import { MIN_HISTORY_RUNS } from './noise.js';

/** The pipeline's gates, as run.json records them (a normalized pipeline's `gates` is one). */
export type GateConfig = Gates;
export type GateName = keyof GateConfig;
export const GATE_NAMES: GateName[] = [
  'latency_p50', 'latency_p90', 'latency_p99', 'top1', 'top1_agreement', 'cosine', 'max_abs', 'mean_abs', 'rel_p99', 'precision_drift', 'engine_size',
];

/** A limit as written in the YAML: "5%" (relative) or a number (absolute, in the metric's unit). */
export interface Allowance {
  relative?: number;
  absolute?: number;
}

export function parseAllowance(v: number | string): Allowance {
  if (typeof v === 'number') return { absolute: v };
  const m = /^([0-9]+(?:\.[0-9]+)?)%$/.exec(v.trim());
  if (!m) throw new Error(`not a number or percentage: '${v}'`);
  return { relative: Number(m[1]) / 100 };
}

function allowedAmount(a: Allowance, baseline: number): number {
  return a.relative !== undefined ? a.relative * baseline : a.absolute!;
}

function describeAllowance(a: Allowance, unit: (v: number) => string): string {
  return a.relative !== undefined ? `${+(a.relative * 100).toFixed(4)}%` : unit(a.absolute!);
}

/**
 * Evaluates every configured gate on every cell of `current`, given its
 * comparison with a baseline (compare.ts compareRuns). Gates that need a
 * baseline are skipped, saying why, when there is none.
 */
export function evaluateGates(config: GateConfig, current: RunRecord, comparison?: RunComparison): GateReport {
  const checks: GateCheck[] = [];
  for (const gate of GATE_NAMES) {
    if (config[gate] === undefined) continue;
    for (const cell of current.cells) {
      const head = { gate, cell: cell.id, name: cell.name };
      if (cell.status !== 'ok') {
        checks.push({ ...head, status: 'skip', against: 'none', message: `cell did not complete (${cell.status})` });
        continue;
      }
      const cmp = comparison?.cells.find((c) => c.cell === cell.id);
      if ((gate === 'top1' || gate === 'cosine') && !comparison) {
        checks.push({ ...head, ...accuracyVsReference(gate, config, cell.accuracy) });
        continue;
      }
      if (!comparison || !cmp) {
        checks.push({ ...head, status: 'skip', against: 'none', message: 'no baseline: run with --baseline NAME' });
        continue;
      }
      if (cmp.status !== 'compared') {
        checks.push({ ...head, status: 'skip', against: 'baseline', message: cmp.status === 'not-in-baseline' ? 'the baseline has no such cell' : 'the cell did not complete in the baseline' });
        continue;
      }
      checks.push({ ...head, against: 'baseline', ...noiseNote(gate, judge(gate, config, cmp), cell.noise) });
    }
  }
  return {
    config,
    ...(comparison ? { baseline: comparison.baseline } : {}),
    checks,
    passed: checks.filter((c) => c.status === 'pass').length,
    failed: checks.filter((c) => c.status === 'fail').length,
    skipped: checks.filter((c) => c.status === 'skip').length,
  };
}

type Verdict = Pick<GateCheck, 'status' | 'message' | 'batches' | 'nodes' | 'noisy'>;

function judge(gate: GateName, config: GateConfig, c: CellComparison): Verdict {
  switch (gate) {
    case 'latency_p50':
    case 'latency_p90':
    case 'latency_p99':
      return latencyGate(gate.slice(8) as 'p50' | 'p90' | 'p99', parseAllowance(config[gate]!.regress_max), c);
    case 'top1_agreement': {
      const m = c.accuracy.top1_agreement;
      if (!m) return { status: 'skip', message: 'no top-1 agreement in one of the runs' };
      return drop('top-1 agreement', (m.baseline - m.current) * 100, config.top1_agreement!.drop_max, `${pts(m.baseline)} -> ${pts(m.current)}`, 'points');
    }
    case 'max_abs':
    case 'mean_abs':
    case 'rel_p99': {
      const m = c.accuracy[gate];
      if (!m) return { status: 'skip', message: `no ${gate} in one of the runs` };
      const a = parseAllowance(config[gate]!.rise_max);
      const limit = allowedAmount(a, m.baseline);
      const rise = m.current - m.baseline;
      const fail = !(rise <= limit);
      return { status: fail ? 'fail' : 'pass', message: `${fmt(m.baseline, 6)} -> ${fmt(m.current, 6)} (rise ${fmt(rise, 6)}; allowed +${describeAllowance(a, (v) => fmt(v, 6))})` };
    }
    case 'top1': {
      if (!c.top1) return { status: 'skip', message: 'no top-1 in one of the runs (labels missing)' };
      return drop('top-1', -c.top1.deltaPoints, config.top1!.drop_max, `${pts(c.top1.baseline)} -> ${pts(c.top1.current)}`, 'points');
    }
    case 'cosine': {
      if (!c.cosine) return { status: 'skip', message: 'no cosine in one of the runs' };
      return drop('cosine', -c.cosine.delta, config.cosine!.drop_max, `${fmt(c.cosine.baseline, 6)} -> ${fmt(c.cosine.current, 6)}`, '');
    }
    case 'precision_drift': {
      const allow = config.precision_drift!.allow ?? false;
      const n = c.widened.length;
      if (!n) return { status: 'pass', message: 'no node got wider' };
      const names = c.widened.slice(0, 5).map((d) => `${d.node} ${d.from}->${d.to}${d.reason ? ` (${d.reason})` : ''}`).join(', ');
      const more = n > 5 ? ` and ${n - 5} more` : '';
      return { status: allow ? 'pass' : 'fail', message: `${n} node(s) got wider${allow ? ' (allowed)' : ''}: ${names}${more}`, nodes: c.widened };
    }
    case 'engine_size': {
      if (!c.engineBytes) return { status: 'skip', message: 'no engine size in one of the runs' };
      const a = parseAllowance(config.engine_size!.growth_max);
      const e = c.engineBytes;
      const limit = allowedAmount(a, e.baseline);
      const fail = e.delta > limit;
      return {
        status: fail ? 'fail' : 'pass',
        message: `${bytes(e.baseline)} -> ${bytes(e.current)} (${signedPct(e.relative)}; allowed +${describeAllowance(a, bytes)})`,
      };
    }
  }
  return { status: 'skip', message: `unknown gate ${String(gate)}` };
}

function latencyGate(which: 'p50' | 'p90' | 'p99', a: Allowance, c: CellComparison): Verdict {
  const batches: BatchVerdict[] = [];
  for (const l of c.latency) {
    const m = l[which];
    if (!m) continue;
    const allowedMs = allowedAmount(a, m.baseline.center);
    // A regression must exceed both what is allowed and what noise explains.
    const fail = m.delta > allowedMs && m.delta > m.band;
    batches.push({
      batch: l.batch,
      baseline: m.baseline.center,
      current: m.current.center,
      relative: m.relative,
      allowedMs,
      bandMs: m.band,
      noise: m.bandSource,
      fail,
    });
  }
  if (!batches.length) return { status: 'skip', message: `no ${which} latency in one of the runs` };
  const worst = [...batches].sort((x, y) => Number(y.fail) - Number(x.fail) || y.relative - x.relative)[0]!;
  const fail = batches.some((b) => b.fail);
  const parts = batches.map((b) => {
    const inside = b.current - b.baseline > b.allowedMs && !b.fail ? ', inside the noise band' : '';
    return `b${b.batch} ${ms(b.baseline)} -> ${ms(b.current)} (${signedPct(b.relative)} ±${pctOf(b.bandMs, b.baseline)} ${b.noise} noise${inside})`;
  });
  // Without history or repeats the band only knows the spread inside one run, which understates run-to-run noise.
  const weak = batches.some((b) => b.noise === 'within-run' || b.noise === 'none')
    ? `; noise from within one run only: set benchmark.repeats >= 3, and the band learns run-to-run noise after ${MIN_HISTORY_RUNS} runs in the history`
    : '';
  return {
    status: fail ? 'fail' : 'pass',
    message: `${fail ? `b${worst.batch} slower by ${signedPct(worst.relative)}` : 'within limits'}: ${parts.join('; ')}; allowed +${describeAllowance(a, ms)}${weak}`,
    batches,
  };
}

/** A latency verdict on a noisy cell says so: its band is wide, so a pass says little. */
function noiseNote(gate: GateName, v: Verdict, noise: CellNoise | undefined): Verdict {
  if (!gate.startsWith('latency_') || !noise?.noisy || v.status === 'skip') return v;
  const worst = Object.entries(noise.batches).sort(([, a], [, b]) => b.cv - a.cv)[0]!;
  return { ...v, noisy: true, message: `${v.message}; NOISY measurement: b${worst[0]} varies ${pctOf(worst[1].cv, 1)} (${worst[1].source}), over benchmark.noise_max ${pctOf(noise.threshold, 1)}: re-measure on a quiet machine` };
}

function drop(label: string, dropped: number, max: number, values: string, unit: string): Verdict {
  // Round-off in the metrics must not fail an exact limit.
  const fail = dropped > max + 1e-9;
  const u = unit ? ` ${unit}` : '';
  return { status: fail ? 'fail' : 'pass', message: `${label} ${values}: dropped ${fmt(Math.max(dropped, 0), 4)}${u} (allowed ${fmt(max, 4)}${u})` };
}

function accuracyVsReference(gate: 'top1' | 'cosine', config: GateConfig, acc: Record<string, number>): Omit<GateCheck, 'gate' | 'cell' | 'name'> {
  if (gate === 'top1') {
    if (acc.top1 === undefined || acc.reference_top1 === undefined) return { status: 'skip', against: 'none', message: 'no top-1 (labels missing)' };
    return { against: 'fp32-reference', ...drop('top-1 vs FP32', (acc.reference_top1 - acc.top1) * 100, config.top1!.drop_max, `${pts(acc.reference_top1)} -> ${pts(acc.top1)}`, 'points') };
  }
  if (acc.cosine === undefined) return { status: 'skip', against: 'none', message: 'no cosine metric' };
  return { against: 'fp32-reference', ...drop('cosine vs FP32', 1 - acc.cosine, config.cosine!.drop_max, `1 -> ${fmtSimilarity(acc.cosine)}`, '') };
}

const pts = (v: number) => `${(v * 100).toFixed(2)}%`;
const pctOf = (v: number, of: number) => (of > 0 ? `${((v / of) * 100).toFixed(1)}%` : '?');
