/**
 * Two shapes of a pipeline:
 * - `PipelineFile` (src/gen/schema/pipeline-file.ts): the YAML as written, generated
 *   from pipelines/schema/pipeline.schema.json by scripts/gen-schema.mjs, so
 *   it cannot drift from the schema;
 * - `Pipeline` (below): after loading, with every default applied
 *   (normalize.ts) and every path absolute.
 */
import type * as File from '../gen/schema/pipeline-file.js';
import { LOWERED_PRECISIONS, QUANTIZED_PRECISIONS, type Precision } from '../gen/contract/vocabulary.js';

export type { PipelineFile } from '../gen/schema/pipeline-file.js';
/** Precisions come from the shared vocabulary (proto/trtpipe/runner/v1/contract/vocabulary.json). */
export { PRECISIONS, type Precision } from '../gen/contract/vocabulary.js';

export const METRICS = [
  'cosine',
  'max_abs',
  'mean_abs',
  'rel_p50',
  'rel_p90',
  'rel_p99',
  'rel_max',
  'top1_agreement',
  'top1',
  'nonfinite',
  'nn_agreement',
] as const;
export type Metric = (typeof METRICS)[number];

export const BACKENDS = ['onnxruntime', 'tensorrt', 'torch', 'auto'] as const;
export type Backend = (typeof BACKENDS)[number];

// The lists above are used at run time; the schema and the vocabulary are the truth. These
// lines stop the build when they disagree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const inStep: [Same<Precision, File.Precision>, Same<Metric, File.Metric>, Same<Backend, NonNullable<File.Target['backend']>>] = [
  true,
  true,
  true,
];
void inStep;

/** Precisions that need Q/DQ scales, and so calibration data. */
export const QUANTIZED: readonly Precision[] = QUANTIZED_PRECISIONS;
/** Every precision narrower than fp32 storage: what "low-precision nodes" count. */
export const LOWERED: readonly string[] = LOWERED_PRECISIONS;

export interface DataSource {
  /** Absolute path of an .npz file keyed by input name. */
  npz?: string;
  /** Absolute path of a directory of .npz / <input>.npy files. */
  dir?: string;
  synthetic?: { seed: number; low: number; high: number; samples: number };
  samples?: number;
  batch?: number;
  labels?: string;
  /** Accept NaN and infinite values in the data (default false: the run refuses such data). */
  allow_nonfinite: boolean;
}

export interface Rule {
  match: { op?: string[]; name?: string[]; name_regex?: string[] };
  use: Precision;
  why?: string;
}

export interface PrecisionPolicy {
  /** Default precision of every node (fp32). */
  default: Precision;
  /** keep: graph inputs/outputs stay fp32. */
  io: 'keep' | 'lower';
  /** int8/fp8: the float precision of what is not quantized (fp16 with a tensorrt target, else fp32). */
  unquantized: 'fp32' | 'fp16' | 'bf16';
  opset?: number;
  rules: Rule[];
  safety: { data_max: number | null; init_max: number | null; reduction_depth: number | null };
  search?: {
    budget: Partial<Record<'cosine' | 'top1_agreement' | 'top1_drop' | 'max_abs', number>>;
    towards: Precision;
    max_evaluations: number;
    evaluator: 'auto' | 'onnxruntime' | 'torch';
    ranking: 'impact' | 'topological';
    result?: string;
  };
}

export type TargetBuild = Omit<NonNullable<File.Target['build']>, 'opt_level' | 'threads'> & {
  opt_level: 'disable' | 'basic' | 'extended' | 'all';
  threads: number;
};

export interface Target {
  name: string;
  /** 'local' or grpc(s):// addresses (more than one: a pool). */
  runners: string[];
  tokenEnv?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** Local runner only: one runner per GPU index, pinned with CUDA_VISIBLE_DEVICES (run/local-gpus.ts). */
  gpus?: number[] | 'all';
  backend: Backend;
  numerics: 'native' | 'emulated';
  require: { compute_capability?: string; precisions?: Precision[]; tensorrt?: string };
  build: TargetBuild;
}

/** A selector in matrix.include / matrix.exclude: the axes it names must match. */
export interface MatrixCellSpec {
  precision?: Precision;
  target?: string;
  batch?: number;
}

export interface ShapeRange {
  min?: number[];
  opt?: number[];
  max?: number[];
}

export type Tolerances = Partial<Record<Metric, { min?: number; max?: number }>>;

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  file: string;
  /** Absolute paths of the files it extends, nearest first. */
  bases: string[];
  version: 1;
  name: string;
  description?: string;
  model: { path: string; inputs: Record<string, ShapeRange> };
  data: { calibration?: DataSource; evaluation: DataSource };
  precision: PrecisionPolicy;
  calibration: { method: 'minmax' | 'entropy' | 'percentile'; percentile: number; per_channel: boolean; smoothing?: { alpha: number } };
  targets: Target[];
  matrix: {
    precision: Precision[];
    target: string[];
    /** Present only when the pipeline declares a batch axis (cell names then end in -b<batch>). */
    batch?: number[];
    include: MatrixCellSpec[];
    exclude: MatrixCellSpec[];
  };
  evaluate: {
    metrics: Metric[];
    batch: number;
    /** Over all outputs (the worst output counts). */
    tolerances: Tolerances;
    /** Per output name: replaces `tolerances` for that output. */
    outputs: Record<string, Tolerances>;
    /** Per-node error against FP32 (the localize stage) for every cell that is not fp32; absent: off. */
    localize?: { samples: number; mask?: string; impact_nodes: number; memory_mib: number; reference_device: string };
  };
  benchmark: {
    batch: number[];
    warmup: number;
    warmup_seconds: number;
    iterations: number;
    max_seconds: number;
    repeats: number;
    noise_max: string;
  };
  gates: Omit<File.Gates, 'precision_drift'> & { precision_drift?: { allow: boolean } };
}
