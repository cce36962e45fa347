/**
 * Semantic rules of the precision policy and calibration: quantized
 * precisions need calibration data, rules must be able to match something,
 * settings that cannot take effect are pointed out.
 */
import { existsSync } from 'node:fs';
import { showPath } from './diagnostics.js';
import { ONNX_OPS } from './onnx-ops.js';
import type { SemanticContext } from './semantic.js';
import { suggest } from './suggest.js';
import { QUANTIZED, type Precision } from './types.js';

export function checkPrecision(ctx: SemanticContext) {
  const { raw, p } = ctx;
  const rp = raw.precision ?? {};
  const hasCalibration = p.data.calibration !== undefined;

  // int8/fp8 need scales, and scales need calibration data: name where each one is asked for.
  if (!hasCalibration) {
    const needs = (precision: Precision | undefined) => precision !== undefined && QUANTIZED.includes(precision);
    const hint = 'add data.calibration: { npz: <file.npz> } (arrays keyed by input name; synthetic: only if random scales are acceptable)';
    const cellsNeed = [...ctx.precisions].filter(needs);
    if (cellsNeed.length) {
      const i = raw.matrix?.precision?.findIndex(needs) ?? -1;
      const inc = raw.matrix?.include?.findIndex((x) => needs(x.precision)) ?? -1;
      const path = i >= 0 ? ['matrix', 'precision', i] : inc >= 0 ? ['matrix', 'include', inc, 'precision'] : ['precision', 'default'];
      ctx.error(path, 'needs-calibration', `${cellsNeed.join(' and ')} cells need calibration data to compute Q/DQ scales`, hint);
    }
    p.precision.rules.forEach((r, i) => {
      if (needs(r.use)) ctx.error(['precision', 'rules', i, 'use'], 'needs-calibration', `a rule placing nodes in ${r.use} needs calibration data for Q/DQ scales`, hint);
    });
    if (needs(rp.search?.towards)) {
      ctx.error(['precision', 'search', 'towards'], 'needs-calibration', `searching towards ${rp.search!.towards} needs calibration data for Q/DQ scales`, hint);
    }
    if (rp.safety?.data_max !== undefined && rp.safety.data_max !== null) {
      ctx.warn(['precision', 'safety', 'data_max'], 'no-ranges', 'data_max compares against activation ranges measured on data.calibration; without calibration data it is off',
        'add data.calibration, or remove data_max', { key: true });
    }
  }

  // Rules: what they match must be able to exist.
  rp.rules?.forEach((r, i) => {
    const match = r.match;
    const ops = match.op === undefined ? [] : Array.isArray(match.op) ? match.op : [match.op];
    ops.forEach((op, k) => {
      if (ONNX_OPS.includes(op)) return;
      const close = suggest(op, ONNX_OPS);
      const path = Array.isArray(match.op) ? ['precision', 'rules', i, 'match', 'op', k] : ['precision', 'rules', i, 'match', 'op'];
      ctx.warn(path, 'unknown-op', `'${op}' is not an ONNX operator type (ai.onnx)`,
        close ? `did you mean '${close}'?` : 'op types are case-sensitive, e.g. Softmax; custom-domain operators match by their type name');
    });
    const regexes = match.name_regex === undefined ? [] : Array.isArray(match.name_regex) ? match.name_regex : [match.name_regex];
    regexes.forEach((rx, k) => {
      const problem = regexProblem(rx);
      if (problem) {
        const path = Array.isArray(match.name_regex) ? ['precision', 'rules', i, 'match', 'name_regex', k] : ['precision', 'rules', i, 'match', 'name_regex'];
        ctx.error(path, 'bad-regex', `invalid regular expression: ${problem}`, 'write it in Python re syntax; escape literal characters such as . ( [ with a backslash');
      }
    });
  });

  // Search: where it goes, and what its budget needs.
  const search = rp.search;
  if (search) {
    if (search.towards === 'fp32') {
      ctx.error(['precision', 'search', 'towards'], 'search-towards', 'a search towards fp32 moves no node anywhere', 'search towards a low precision: fp16, bf16, int8 or fp8');
    }
    if (search.budget?.top1_drop !== undefined && p.data.evaluation.labels === undefined) {
      ctx.error(['precision', 'search', 'budget', 'top1_drop'], 'needs-labels', 'a top1_drop budget needs labels in the evaluation data', 'add data.evaluation.labels: <array name>', { key: true });
    }
    if (p.precision.search?.result !== undefined && !existsSync(p.precision.search.result)) {
      ctx.error(['precision', 'search', 'result'], 'not-found', `file not found: ${showPath(ctx.cwd, p.precision.search.result)}`, 'paths are relative to the file they are written in; remove result: to search instead');
    }
  }

  // int8/fp8 leftovers in fp16/bf16 for TensorRT: measured not to pay off on TensorRT 10.6 (docs/tensorrt.md, "int8 speed").
  const quantizes = [...ctx.precisions].some((x) => QUANTIZED.includes(x)) || p.precision.rules.some((r) => QUANTIZED.includes(r.use));
  if (quantizes && p.precision.unquantized !== 'fp32' && p.targets.some((t) => t.backend === 'tensorrt')) {
    const form = (p.precision.opset ?? 19) >= 19 ? 'with fp16/bf16-scaled Q/DQ did not build' : 'with fp32 Q/DQ behind Casts ran 2.2x slower than fp16';
    ctx.warn(['precision', 'unquantized'], 'slow-on-tensorrt', `on TensorRT 10.6, int8 ResNet-50 ${form}`,
      'keep unquantized: fp32 for TensorRT targets (int8 then ran 0.77 of fp16 there), or measure this model with both', { key: true });
  }

  // Calibration settings that cannot take effect.
  const rc = raw.calibration;
  if (rc?.percentile !== undefined && p.calibration.method !== 'percentile') {
    ctx.warn(['calibration', 'percentile'], 'ignored', `percentile applies to method: percentile only (method is ${p.calibration.method})`,
      'set method: percentile, or remove percentile', { key: true });
  }
  if (rc !== undefined && !quantizes) {
    ctx.warn(['calibration'], 'ignored', 'calibration settings only matter for int8 and fp8, which no cell or rule uses', 'remove the calibration section, or add int8 to matrix.precision', { key: true });
  }
}

/**
 * Why a Python `re` pattern is invalid, checked with JavaScript's RegExp
 * after translating the Python-only spellings they share a meaning for.
 */
export function regexProblem(rx: string): string | undefined {
  const js = rx
    .replace(/^\(\?[aiLmsux]+\)/, '') // leading inline flags
    .replace(/\(\?P</g, '(?<') // named group
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>'); // named back-reference
  try {
    new RegExp(js, 'u');
    return undefined;
  } catch (err) {
    try {
      // Python accepts escapes that unicode-mode RegExp rejects (e.g. \-).
      new RegExp(js);
      return undefined;
    } catch {
      return (err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '');
    }
  }
}
