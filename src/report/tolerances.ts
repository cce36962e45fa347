/**
 * Absolute accuracy tolerances from `evaluate.tolerances` (e.g. cosine >=
 * 0.999): pass/fail per cell and metric, on the worst output's value.
 */
import type { Pipeline } from '../config/types.js';
import type { ToleranceResult } from '../gen/schema/run-record.js';

export function checkTolerances(tolerances: Pipeline['evaluate']['tolerances'], accuracy: Record<string, number>): ToleranceResult[] {
  return Object.entries(tolerances).map(([metric, t]) => {
    const value = accuracy[metric];
    const pass =
      value !== undefined &&
      !Number.isNaN(value) &&
      (t!.min === undefined || value >= t!.min) &&
      (t!.max === undefined || value <= t!.max);
    return { metric, value, ...(t!.min !== undefined ? { min: t!.min } : {}), ...(t!.max !== undefined ? { max: t!.max } : {}), pass };
  });
}

/** Metrics of the task, not of one output: checked on the run's aggregate. */
const TASK_METRICS = new Set(['top1']);

/**
 * evaluate.tolerances on every output (each output's own metrics), except
 * outputs named in evaluate.outputs, whose tolerances replace the general ones.
 * Falls back to the worst-output aggregate when per-output metrics are missing.
 */
export function checkEvaluation(
  spec: Pick<Pipeline['evaluate'], 'tolerances' | 'outputs'>,
  aggregate: Record<string, number>,
  perOutput: Record<string, Record<string, number>> | undefined,
): ToleranceResult[] {
  const general = Object.fromEntries(Object.entries(spec.tolerances).filter(([m]) => !TASK_METRICS.has(m))) as Pipeline['evaluate']['tolerances'];
  const task = Object.fromEntries(Object.entries(spec.tolerances).filter(([m]) => TASK_METRICS.has(m))) as Pipeline['evaluate']['tolerances'];
  const out = checkTolerances(task, aggregate);
  if (!perOutput || !Object.keys(perOutput).length) return [...out, ...checkTolerances(general, aggregate)];
  for (const [name, metrics] of Object.entries(perOutput)) {
    const t = spec.outputs[name] ?? general;
    for (const r of checkTolerances(t, metrics)) out.push({ ...r, output: name });
  }
  return out;
}

export function describeTolerance(r: ToleranceResult): string {
  const bound = [r.min !== undefined ? `>= ${r.min}` : '', r.max !== undefined ? `<= ${r.max}` : ''].filter(Boolean).join(' and ');
  return `${r.output ? `output '${r.output}': ` : ''}${r.metric} ${r.value === undefined ? 'not measured' : Number(r.value.toPrecision(6))} (needs ${bound})`;
}
