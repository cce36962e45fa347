/**
 * Semantic rules of the model, the data, evaluation, benchmarks and gates:
 * files exist, data sources are unambiguous, metrics that tolerances and
 * gates name are computed, and what needs labels has them.
 */
import { statSync, type Stats } from 'node:fs';
import { DATA_FILE_LIMIT, fileProblem } from '../user-files.js';
import path from 'node:path';
import { type KeyPath, showPath } from './diagnostics.js';
import type { SemanticContext } from './semantic.js';
import type { Metric, Tolerances } from './types.js';

export function checkDataAndEvaluation(ctx: SemanticContext) {
  checkModel(ctx);
  checkData(ctx);
  checkEvaluate(ctx);
  checkGates(ctx);
}

function checkModel(ctx: SemanticContext) {
  const { p } = ctx;
  if (checkFile(ctx, ['model', 'path'], p.model.path, 'file') && !/\.onnx$/i.test(p.model.path)) {
    ctx.warn(['model', 'path'], 'not-onnx', `${path.basename(p.model.path)} does not end in .onnx`, 'export the model to ONNX first: trtpipe builds from ONNX graphs');
  }
  for (const [input, r] of Object.entries(p.model.inputs)) {
    const here = ['model', 'inputs', input];
    const given = (['min', 'opt', 'max'] as const).filter((k) => r[k] !== undefined);
    const ranks = new Set(given.map((k) => r[k]!.length));
    if (ranks.size > 1) {
      ctx.error(here, 'shape-range', `min, opt and max of '${input}' have different ranks (${given.map((k) => `${k}: ${r[k]!.length}`).join(', ')})`,
        'give every shape one entry per dimension', { key: true });
      continue;
    }
    const order: [keyof typeof r, keyof typeof r][] = [['min', 'opt'], ['opt', 'max'], ['min', 'max']];
    for (const [lo, hi] of order) {
      const a = r[lo];
      const b = r[hi];
      if (!a || !b) continue;
      const k = a.findIndex((v, d) => v > b[d]!);
      if (k >= 0) {
        ctx.error([...here, lo, k], 'shape-range', `${lo}[${k}] = ${a[k]} is larger than ${hi}[${k}] = ${b[k]}`, `make min <= opt <= max in every dimension`);
        break;
      }
    }
  }
}

function checkData(ctx: SemanticContext) {
  const { raw, p } = ctx;
  for (const which of ['calibration', 'evaluation'] as const) {
    const d = raw.data[which];
    const n = p.data[which];
    if (!d || !n) continue;
    const here = (...rest: string[]) => ['data', which, ...rest];
    const kinds = (['npz', 'dir', 'synthetic'] as const).filter((k) => d[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.error(here(), 'data-source', kinds.length ? `give one data source, not ${kinds.join(' and ')}` : 'no data source given',
        'use npz: <file.npz>, dir: <folder> or synthetic: { seed, low, high, samples }', { key: true });
    }
    if (n.npz !== undefined && checkFile(ctx, here('npz'), n.npz, 'file') && !/\.npz$/i.test(n.npz)) {
      ctx.warn(here('npz'), 'not-npz', `${path.basename(n.npz)} does not end in .npz`, 'save the arrays with numpy.savez, keyed by input name');
    }
    if (n.dir !== undefined) checkFile(ctx, here('dir'), n.dir, 'dir');
    if (n.synthetic) {
      const s = n.synthetic;
      ctx.warn(here('synthetic'), 'synthetic-data', `${which} data is synthetic (random): results say nothing about real inputs`,
        'use real data (npz: or dir:) for numbers you can trust', { key: true });
      if (s.low >= s.high) {
        ctx.error(d.synthetic?.high !== undefined ? here('synthetic', 'high') : here('synthetic'), 'synthetic-range', `synthetic high (${s.high}) must be greater than low (${s.low})`,
          'give a value range low < high');
      }
      if (n.labels !== undefined) {
        ctx.error(here('labels'), 'needs-labels', 'synthetic data has no labels', 'remove labels, or use real data that has them', { key: true });
      }
      if (n.samples !== undefined && n.samples > s.samples) {
        ctx.error(here('samples'), 'samples', `samples (${n.samples}) exceeds the ${s.samples} synthetic samples`, `set synthetic.samples to at least ${n.samples}`);
      }
    }
    if (which === 'calibration' && n.labels !== undefined) {
      ctx.warn(here('labels'), 'ignored', 'labels are used with the evaluation data only', 'move labels to data.evaluation', { key: true });
    }
  }
}

/** Metrics computed only where labels exist. */
const NEEDS_LABELS: readonly Metric[] = ['top1'];

function metricProblem(ctx: SemanticContext, metric: string): { message: string; hint: string } | undefined {
  const { p } = ctx;
  if (p.evaluate.metrics.includes(metric as Metric)) return undefined;
  if (NEEDS_LABELS.includes(metric as Metric) && p.data.evaluation.labels === undefined) {
    return { message: `${metric} needs labels, and the evaluation data has none`, hint: 'add data.evaluation.labels: <array name>' };
  }
  return { message: `${metric} is not computed (evaluate.metrics leaves it out)`, hint: `add ${metric} to evaluate.metrics` };
}

function checkEvaluate(ctx: SemanticContext) {
  const { raw, p } = ctx;
  raw.evaluate?.metrics?.forEach((m, i) => {
    if (NEEDS_LABELS.includes(m) && p.data.evaluation.labels === undefined) {
      ctx.error(['evaluate', 'metrics', i], 'needs-labels', `${m} needs labels, and the evaluation data has none`, 'add data.evaluation.labels: <array name>, or remove it');
    }
  });
  const checkTolerances = (t: Tolerances, at: KeyPath) => {
    for (const [metric, band] of Object.entries(t)) {
      const problem = metricProblem(ctx, metric);
      if (problem && !raw.evaluate?.metrics?.includes(metric as Metric)) {
        ctx.error([...at, metric], 'unknown-metric', problem.message, problem.hint, { key: true });
      }
      if (band?.min !== undefined && band.max !== undefined && band.min > band.max) {
        ctx.error([...at, metric, 'min'], 'tolerance', `min (${band.min}) is greater than max (${band.max}): nothing can pass`, 'swap them');
      }
    }
  };
  checkTolerances(p.evaluate.tolerances, ['evaluate', 'tolerances']);
  for (const [output, t] of Object.entries(p.evaluate.outputs)) checkTolerances(t, ['evaluate', 'outputs', output]);
}

const LATENCY_GATES = { latency_p50: 20, latency_p90: 50, latency_p99: 100 } as const;

function checkGates(ctx: SemanticContext) {
  const { raw, p } = ctx;
  const gates = raw.gates ?? {};
  for (const name of Object.keys(gates)) {
    if (name in LATENCY_GATES) {
      const least = LATENCY_GATES[name as keyof typeof LATENCY_GATES];
      if (p.benchmark.iterations < least) {
        ctx.warn(['gates', name], 'noisy-gate', `${name} from ${p.benchmark.iterations} iterations is mostly noise`,
          `set benchmark.iterations to ${least} or more`, { key: true });
      }
      continue;
    }
    if (name === 'precision_drift' || name === 'engine_size') continue;
    const problem = metricProblem(ctx, name);
    if (problem) ctx.error(['gates', name], 'unknown-metric', problem.message, problem.hint, { key: true });
  }
}

/** True when the file exists and is of the expected kind; reports otherwise. */
function checkFile(ctx: SemanticContext, at: KeyPath, file: string, kind: 'file' | 'dir'): boolean {
  let st: Stats;
  try {
    // stat, never open: opening a FIFO would wait for a writer.
    st = statSync(file);
  } catch {
    ctx.error(at, 'not-found', `${kind === 'file' ? 'file' : 'folder'} not found: ${shown(ctx, file)}`, 'paths are relative to the file they are written in');
    return false;
  }
  const isDir = st.isDirectory();
  if (kind === 'file' && isDir) ctx.error(at, 'not-a-file', `is a folder, not a file: ${shown(ctx, file)}`, 'name the file inside it');
  if (kind === 'dir' && !isDir) ctx.error(at, 'not-a-dir', `is a file, not a folder: ${shown(ctx, file)}`, 'use npz: for a single .npz file');
  const problem = kind === 'file' && !isDir ? fileProblem(st, DATA_FILE_LIMIT) : undefined;
  if (problem) {
    ctx.error(at, 'not-a-file', `${problem}: ${shown(ctx, file)}`, 'name a regular file (reading a pipe or a device never ends)');
    return false;
  }
  return kind === 'file' ? !isDir : isDir;
}

function shown(ctx: SemanticContext, file: string): string {
  return showPath(ctx.cwd, file);
}
