/**
 * Absolute accuracy tolerances from `evaluate.tolerances` (e.g. cosine >=
 * 0.999): pass/fail per cell and metric, on the worst output's value.
 */
import type { Pipeline } from '../config/types.js';

export interface ToleranceResult {
  metric: string;
  value: number | undefined;
  min?: number;
  max?: number;
  pass: boolean;
}

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

export function describeTolerance(r: ToleranceResult): string {
  const bound = [r.min !== undefined ? `>= ${r.min}` : '', r.max !== undefined ? `<= ${r.max}` : ''].filter(Boolean).join(' and ');
  return `${r.metric} ${r.value === undefined ? 'not measured' : Number(r.value.toPrecision(6))} (needs ${bound})`;
}
