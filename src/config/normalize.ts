/**
 * Every default of the pipeline language, in one visible place, applied to a
 * file that already passed the schema check. Paths become absolute (relative
 * to the pipeline file).
 */
import path from 'node:path';
import type { DataSource, Metric, Pipeline, Precision, Rule, Target } from './types.js';

/** The defaults, as documented in docs/pipeline.md. */
export const DEFAULTS = {
  precision: {
    default: 'fp32' as Precision,
    io: 'keep' as const,
    // ModelOpt AutoCast's defaults: activations beyond 512 and initializers
    // beyond the FP16 maximum keep their node in FP32.
    safety: { data_max: 512, init_max: 65504, reduction_depth: null },
    search: { max_evaluations: 64, evaluator: 'auto' as const },
  },
  calibration: { method: 'entropy' as const, percentile: 99.99, per_channel: true },
  target: {
    runner: 'local',
    backend: 'onnxruntime' as const,
    numerics: 'native' as const,
    build: { opt_level: 'all' as const, threads: 0 },
  },
  evaluate: {
    metrics: ['cosine', 'max_abs', 'mean_abs', 'rel_p99', 'top1_agreement', 'top1', 'nonfinite'] as Metric[],
    batch: 32,
  },
  benchmark: { batch: [1], warmup: 10, iterations: 100, max_seconds: 60, repeats: 1 },
};

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)]);

export function normalize(raw: Raw, file: string): Pipeline {
  const dir = path.dirname(file);
  const abs = (p: string) => path.resolve(dir, p);
  const data = (d: Raw | undefined): DataSource | undefined =>
    d === undefined
      ? undefined
      : {
          ...(d.npz !== undefined ? { npz: abs(d.npz) } : {}),
          ...(d.dir !== undefined ? { dir: abs(d.dir) } : {}),
          ...(d.synthetic !== undefined
            ? { synthetic: { seed: 0, low: 0, high: 1, samples: 64, ...d.synthetic } }
            : {}),
          ...(d.samples !== undefined ? { samples: d.samples } : {}),
          ...(d.batch !== undefined ? { batch: d.batch } : {}),
          ...(d.labels !== undefined ? { labels: d.labels } : {}),
        };
  const p = (raw.precision ?? {}) as Raw;
  const rules: Rule[] = ((p.rules ?? []) as Raw[]).map((r) => ({
    match: {
      ...(r.match.op !== undefined ? { op: list(r.match.op) } : {}),
      ...(r.match.name !== undefined ? { name: list(r.match.name) } : {}),
      ...(r.match.name_regex !== undefined ? { name_regex: list(r.match.name_regex) } : {}),
    },
    use: r.use,
    ...(r.why !== undefined ? { why: r.why } : {}),
  }));
  const defaultPrecision: Precision = p.default ?? DEFAULTS.precision.default;
  const targets: Target[] = ((raw.targets ?? []) as Raw[]).map((t) => ({
    name: t.name,
    runners: t.runner === undefined ? [DEFAULTS.target.runner] : Array.isArray(t.runner) ? t.runner : [t.runner],
    ...(t.token_env !== undefined ? { tokenEnv: t.token_env } : {}),
    ...(t.tls !== undefined
      ? { tls: Object.fromEntries(Object.entries(t.tls as Record<string, string>).map(([k, v]) => [k, abs(v)])) }
      : {}),
    backend: t.backend ?? DEFAULTS.target.backend,
    numerics: t.numerics ?? DEFAULTS.target.numerics,
    require: { ...(t.require ?? {}) },
    build: { ...DEFAULTS.target.build, ...(t.build ?? {}) },
  }));
  const m = (raw.matrix ?? {}) as Raw;
  const search = p.search as Raw | undefined;
  return {
    file,
    version: 1,
    name: raw.name,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    model: { path: abs(raw.model.path), inputs: raw.model.inputs ?? {} },
    data: {
      ...(raw.data.calibration !== undefined ? { calibration: data(raw.data.calibration) } : {}),
      evaluation: data(raw.data.evaluation)!,
    },
    precision: {
      default: defaultPrecision,
      io: p.io ?? DEFAULTS.precision.io,
      ...(p.opset !== undefined ? { opset: p.opset } : {}),
      rules,
      safety: { ...DEFAULTS.precision.safety, ...(p.safety ?? {}) },
      ...(search !== undefined
        ? {
            search: {
              budget: search.budget ?? { cosine: 0.999 },
              towards: search.towards ?? (defaultPrecision === 'fp32' ? 'fp16' : defaultPrecision),
              max_evaluations: search.max_evaluations ?? DEFAULTS.precision.search.max_evaluations,
              evaluator: search.evaluator ?? DEFAULTS.precision.search.evaluator,
              ...(search.result !== undefined ? { result: abs(search.result) } : {}),
            },
          }
        : {}),
    },
    calibration: { ...DEFAULTS.calibration, ...(raw.calibration ?? {}) },
    targets,
    matrix: {
      precision: m.precision ?? [defaultPrecision],
      target: m.target ?? targets.map((t) => t.name),
      include: m.include ?? [],
      exclude: m.exclude ?? [],
    },
    evaluate: {
      metrics: raw.evaluate?.metrics ?? DEFAULTS.evaluate.metrics,
      batch: raw.evaluate?.batch ?? raw.data.evaluation.batch ?? DEFAULTS.evaluate.batch,
      tolerances: raw.evaluate?.tolerances ?? {},
    },
    benchmark: { ...DEFAULTS.benchmark, ...(raw.benchmark ?? {}) },
    gates: raw.gates ?? {},
  };
}
