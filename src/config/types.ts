/**
 * The pipeline after loading: every default applied (normalize.ts), every path
 * absolute. The shape of the YAML itself is defined by
 * pipelines/schema/pipeline.schema.json; `PipelineFile` mirrors it and a test
 * keeps the two in step.
 */

export const PRECISIONS = ['fp32', 'tf32', 'fp16', 'bf16', 'int8', 'fp8'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const METRICS = [
  'cosine', 'max_abs', 'mean_abs', 'rel_p50', 'rel_p90', 'rel_p99', 'rel_max', 'top1_agreement', 'top1', 'nonfinite',
] as const;
export type Metric = (typeof METRICS)[number];

export type Backend = 'onnxruntime' | 'tensorrt' | 'torch' | 'auto';

export interface DataSource {
  /** Absolute path of an .npz file keyed by input name. */
  npz?: string;
  /** Absolute path of a directory of .npz / <input>.npy files. */
  dir?: string;
  synthetic?: { seed: number; low: number; high: number; samples: number };
  samples?: number;
  batch?: number;
  labels?: string;
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
  opset?: number;
  rules: Rule[];
  safety: { data_max: number | null; init_max: number | null; reduction_depth: number | null };
  search?: {
    budget: Partial<Record<'cosine' | 'top1_agreement' | 'top1_drop' | 'max_abs', number>>;
    towards: Precision;
    max_evaluations: number;
    evaluator: 'auto' | 'onnxruntime' | 'torch';
    result?: string;
  };
}

export interface Target {
  name: string;
  /** 'local' or grpc(s):// addresses (more than one: a pool). */
  runners: string[];
  tokenEnv?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  backend: Backend;
  numerics: 'native' | 'emulated';
  require: { compute_capability?: string; precisions?: Precision[]; tensorrt?: string };
  build: {
    workspace_mib?: number;
    optimization_level?: number;
    hardware_compatibility?: 'none' | 'ampere_plus' | 'same_compute_capability';
    version_compatible?: boolean;
    legacy_weak_typing?: boolean;
    /** torch only: cuda (default), cuda:N, or cpu (tests). */
    device?: string;
    /** torch only: fuse MatMul+bias and GELU into single kernels (default true). */
    fuse?: boolean;
    /** torch only: benchmark by replaying a CUDA graph (default false). */
    cuda_graph?: boolean;
    opt_level: 'disable' | 'basic' | 'extended' | 'all';
    threads: number;
  };
}

export interface MatrixCellSpec {
  precision?: Precision;
  target?: string;
}

export interface Pipeline {
  /** Absolute path of the pipeline file. */
  file: string;
  version: 1;
  name: string;
  description?: string;
  model: { path: string; inputs: Record<string, { min?: number[]; opt?: number[]; max?: number[] }> };
  data: { calibration?: DataSource; evaluation: DataSource };
  precision: PrecisionPolicy;
  calibration: { method: 'minmax' | 'entropy' | 'percentile'; percentile: number; per_channel: boolean };
  targets: Target[];
  matrix: { precision: Precision[]; target: string[]; include: MatrixCellSpec[]; exclude: MatrixCellSpec[] };
  evaluate: { metrics: Metric[]; batch: number; tolerances: Partial<Record<Metric, { min?: number; max?: number }>> };
  benchmark: { batch: number[]; warmup: number; iterations: number; max_seconds: number; repeats: number };
  gates: {
    latency_p50?: { regress_max: number | string };
    latency_p99?: { regress_max: number | string };
    top1?: { drop_max: number };
    cosine?: { drop_max: number };
    precision_drift?: { allow: boolean };
    engine_size?: { growth_max: number | string };
  };
}
