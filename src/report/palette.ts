/**
 * Colours of precisions in every chart and graph picture, from the Okabe-Ito
 * palette (distinguishable with the common colour-vision deficiencies).
 */
export const PRECISION_COLORS: Record<string, string> = {
  fp32: '#0072B2',
  tf32: '#56B4E9',
  fp16: '#E69F00',
  bf16: '#CC79A7',
  int8: '#009E73',
  fp8: '#D55E00',
};

/** Nodes without a precision (fused away, no float math, not explained). */
export const NO_PRECISION_COLOR = '#C8C8C8';

/** The order of precisions in chart legends (a display choice: bf16 beside fp32's blues). */
export const PRECISION_ORDER = ['fp32', 'tf32', 'bf16', 'fp16', 'int8', 'fp8'];

export function precisionColor(p: string | undefined): string {
  return (p && PRECISION_COLORS[p]) || NO_PRECISION_COLOR;
}

/** Series colours for anything that is not a precision (targets, percentiles). */
export const SERIES_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#D55E00', '#56B4E9', '#F0E442', '#000000'];
