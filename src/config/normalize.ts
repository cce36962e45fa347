/**
 * Every default of the pipeline language, in one visible place, applied to a
 * file that already passed the schema check. Paths become absolute, relative
 * to the file each was written in (a base file's paths stay relative to the
 * base). The schema's `default` annotations (for editors) are tested against
 * DEFAULTS.
 */
import path from 'node:path';
import type * as File from '../gen/schema/pipeline-file.js';
import type { KeyPath } from './diagnostics.js';
import type { PipelineDocument } from './document.js';
import type { DataSource, Metric, Pipeline, Precision, Rule, Target, Tolerances } from './types.js';

/** The defaults, as documented in docs/pipeline.md. */
export const DEFAULTS = {
  precision: {
    default: 'fp32' as Precision,
    io: 'keep' as const,
    // ModelOpt AutoCast's defaults: activations beyond 512 and initializers
    // beyond the FP16 maximum keep their node in FP32.
    safety: { data_max: 512, init_max: 65504, reduction_depth: null },
    /**
     * precision.unquantized: fp32 for every backend. fp16 leftovers (what `trtexec --int8 --fp16`
     * gives) were to be TensorRT's default, but TensorRT 10.6 refuses to build them on an H200
     * (ResNet-50: "No supported formats" for an int8 Conv behind fp16-scaled Q/DQ; docs/decisions.md),
     * and ONNX Runtime's CPU provider has few fp16 kernels. fp16/bf16 stay a choice to make.
     */
    unquantized: 'fp32' as const,
    search: { max_evaluations: 64, evaluator: 'auto' as const, ranking: 'impact' as const, budget: { cosine: 0.999 } },
  },
  synthetic: { seed: 0, low: 0, high: 1, samples: 64 },
  /** data.<set>.allow_nonfinite: data with NaN/Inf is refused unless a pipeline says otherwise. */
  allowNonfinite: false,
  calibration: { method: 'entropy' as const, percentile: 99.99, per_channel: true },
  /** calibration.smoothing, when given (SmoothQuant's usual strength). */
  smoothing: { alpha: 0.5 },
  target: {
    runner: 'local',
    backend: 'onnxruntime' as const,
    numerics: 'native' as const,
    build: { opt_level: 'all' as const, threads: 0 },
  },
  evaluate: {
    /** top1 only where the evaluation data has labels. */
    metrics: ['cosine', 'max_abs', 'mean_abs', 'rel_p99', 'top1_agreement', 'top1', 'nonfinite'] as Metric[],
    batch: 32,
    /** evaluate.localize: true (impact_nodes, memory_mib and reference_device are not the file's to set). */
    localize: { samples: 64, impact_nodes: 64, memory_mib: 1024, reference_device: 'auto' },
  },
  benchmark: { batch: [1], warmup: 10, warmup_seconds: 0.2, iterations: 100, max_seconds: 60, repeats: 1, noise_max: '10%' },
  gates: { precision_drift: { allow: false } },
};

/** evaluate.localize: absent when off, else with its defaults. */
const localize = (v: File.Evaluate['localize']) =>
  v === undefined || v === false ? {} : { localize: { ...DEFAULTS.evaluate.localize, ...(v === true ? {} : v) } };

const list = (v: string | string[] | undefined): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/**
 * @param raw the document's value, valid against the schema
 * @param doc where each value came from (for relative paths)
 * @param file absolute path of the pipeline file
 * @param bases absolute paths of the files it extends
 */
export function normalize(raw: File.PipelineFile, doc: PipelineDocument, file: string, bases: string[] = []): Pipeline {
  const abs = (at: KeyPath, p: string) => path.resolve(doc.dirOf(at), p);
  const data = (which: 'calibration' | 'evaluation'): DataSource | undefined => {
    const d = raw.data[which];
    if (d === undefined) return undefined;
    return {
      ...(d.npz !== undefined ? { npz: abs(['data', which, 'npz'], d.npz) } : {}),
      ...(d.dir !== undefined ? { dir: abs(['data', which, 'dir'], d.dir) } : {}),
      ...(d.synthetic !== undefined ? { synthetic: { ...DEFAULTS.synthetic, ...d.synthetic } } : {}),
      ...(d.samples !== undefined ? { samples: d.samples } : {}),
      ...(d.batch !== undefined ? { batch: d.batch } : {}),
      ...(d.labels !== undefined ? { labels: d.labels } : {}),
      allow_nonfinite: d.allow_nonfinite ?? DEFAULTS.allowNonfinite,
    };
  };
  const p = raw.precision ?? {};
  const rules: Rule[] = (p.rules ?? []).map((r) => ({
    match: {
      ...(r.match.op !== undefined ? { op: list(r.match.op) } : {}),
      ...(r.match.name !== undefined ? { name: list(r.match.name) } : {}),
      ...(r.match.name_regex !== undefined ? { name_regex: list(r.match.name_regex) } : {}),
    },
    use: r.use,
    ...(r.why !== undefined ? { why: r.why } : {}),
  }));
  const defaultPrecision: Precision = p.default ?? DEFAULTS.precision.default;
  const targets: Target[] = raw.targets.map((t, i) => ({
    name: t.name,
    runners: t.runner === undefined ? [DEFAULTS.target.runner] : Array.isArray(t.runner) ? t.runner : [t.runner],
    ...(t.token_env !== undefined ? { tokenEnv: t.token_env } : {}),
    ...(t.tls !== undefined
      ? { tls: Object.fromEntries(Object.entries(t.tls).map(([k, v]) => [k, abs(['targets', i, 'tls', k], v as string)])) }
      : {}),
    ...(t.gpus !== undefined ? { gpus: t.gpus } : {}),
    backend: t.backend ?? DEFAULTS.target.backend,
    numerics: t.numerics ?? DEFAULTS.target.numerics,
    require: { ...(t.require ?? {}) },
    build: { ...DEFAULTS.target.build, ...(t.build ?? {}) },
  }));
  const m = raw.matrix ?? {};
  const search = p.search;
  const evaluation = data('evaluation')!;
  const tolerances = (t: File.Tolerances | undefined): Tolerances => ({ ...(t ?? {}) }) as Tolerances;
  return {
    file,
    bases,
    version: 1,
    name: raw.name,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    model: { path: abs(['model', 'path'], raw.model.path), inputs: (raw.model.inputs ?? {}) as Pipeline['model']['inputs'] },
    data: {
      ...(raw.data.calibration !== undefined ? { calibration: data('calibration') } : {}),
      evaluation,
    },
    precision: {
      default: defaultPrecision,
      io: p.io ?? DEFAULTS.precision.io,
      unquantized: p.unquantized ?? DEFAULTS.precision.unquantized,
      ...(p.opset !== undefined ? { opset: p.opset } : {}),
      rules,
      safety: { ...DEFAULTS.precision.safety, ...(p.safety ?? {}) },
      ...(search !== undefined
        ? {
            search: {
              budget: search.budget ?? DEFAULTS.precision.search.budget,
              towards: search.towards ?? (defaultPrecision === 'fp32' ? 'fp16' : defaultPrecision),
              max_evaluations: search.max_evaluations ?? DEFAULTS.precision.search.max_evaluations,
              evaluator: search.evaluator ?? DEFAULTS.precision.search.evaluator,
              ranking: search.ranking ?? DEFAULTS.precision.search.ranking,
              ...(search.result !== undefined ? { result: abs(['precision', 'search', 'result'], search.result) } : {}),
            },
          }
        : {}),
    },
    calibration: normalizeCalibration(raw.calibration),
    targets,
    matrix: {
      precision: m.precision ?? [defaultPrecision],
      target: m.target ?? targets.map((t) => t.name),
      ...(m.batch !== undefined ? { batch: m.batch } : {}),
      include: m.include ?? [],
      exclude: m.exclude ?? [],
    },
    evaluate: {
      // Arg-max metrics only mean something for classifiers: without labels, the error metrics.
      metrics:
        raw.evaluate?.metrics ??
        DEFAULTS.evaluate.metrics.filter((x) => (x !== 'top1' && x !== 'top1_agreement') || evaluation.labels !== undefined),
      batch: raw.evaluate?.batch ?? evaluation.batch ?? DEFAULTS.evaluate.batch,
      tolerances: tolerances(raw.evaluate?.tolerances),
      outputs: Object.fromEntries(Object.entries(raw.evaluate?.outputs ?? {}).map(([k, v]) => [k, tolerances(v)])),
      ...localize(raw.evaluate?.localize),
    },
    benchmark: { ...DEFAULTS.benchmark, ...(raw.benchmark ?? {}) },
    gates: (({ precision_drift: drift, ...rest }) => ({
      ...rest,
      ...(drift !== undefined ? { precision_drift: { allow: drift.allow ?? DEFAULTS.gates.precision_drift.allow } } : {}),
    }))(raw.gates ?? {}),
  };
}

function normalizeCalibration(raw: File.PipelineFile['calibration']): Pipeline['calibration'] {
  const { smoothing, ...rest } = raw ?? {};
  // smoothing only when given, so the stage keys of pipelines without it stay as they were.
  return {
    ...DEFAULTS.calibration,
    ...rest,
    ...(smoothing !== undefined ? { smoothing: { alpha: smoothing.alpha ?? DEFAULTS.smoothing.alpha } } : {}),
  };
}
