/**
 * The stage graph of a pipeline: shared stages (inspect, reference, one
 * transform per precision) and per-cell stages (build, evaluate, benchmark).
 * Pure: no I/O beyond what the caller passes in.
 */
import type { Pipeline } from '../config/types.js';
import type { Cell } from './matrix.js';

export type StageName = 'inspect' | 'reference' | 'transform' | 'build' | 'evaluate' | 'benchmark';

/** Where a stage input comes from: a file of the user's, or another stage's output. */
export type InputRef =
  | { kind: 'file'; path: string; role: 'model' | 'calib_data' | 'eval_data' }
  | { kind: 'stage'; node: string; output: string };

export interface StageNode {
  /** `transform@fp16`, `build@fp16-cpu`, ... */
  id: string;
  stage: StageName;
  /** The target whose runner runs it. */
  target: string;
  /** Cells this node serves (shared nodes serve several). */
  cells: string[];
  inputs: Record<string, InputRef>;
  params: Record<string, unknown>;
  deps: string[];
}

export interface StageGraph {
  cells: Cell[];
  /** Nodes in a valid execution order. */
  nodes: StageNode[];
}

/** Bumped when a stage's behaviour changes, so old cache entries stop matching. */
export const STAGE_VERSIONS: Record<StageName, number> = {
  inspect: 1,
  reference: 1,
  transform: 1,
  build: 1,
  evaluate: 1,
  benchmark: 1,
};

export function buildGraph(p: Pipeline, cells: Cell[]): StageGraph {
  const nodes: StageNode[] = [];
  const byId = new Map<string, StageNode>();
  const home = cells[0]?.target ?? p.targets[0]!.name;
  const add = (n: Omit<StageNode, 'deps' | 'cells'>, cell: string): StageNode => {
    const existing = byId.get(n.id);
    if (existing) {
      if (!existing.cells.includes(cell)) existing.cells.push(cell);
      return existing;
    }
    const deps = Object.values(n.inputs).flatMap((i) => (i.kind === 'stage' ? [i.node] : []));
    const node: StageNode = { ...n, deps: [...new Set(deps)], cells: [cell] };
    nodes.push(node);
    byId.set(node.id, node);
    return node;
  };
  const model: InputRef = { kind: 'file', path: p.model.path, role: 'model' };
  const evalData = dataRef(p.data.evaluation, 'eval_data');
  const calibData = p.data.calibration ? dataRef(p.data.calibration, 'calib_data') : undefined;
  const evalParams = { labels: p.data.evaluation.labels, samples: p.data.evaluation.samples };

  for (const cell of cells) {
    const target = p.targets.find((t) => t.name === cell.target)!;
    add({ id: 'inspect', stage: 'inspect', target: home, inputs: { model }, params: {} }, cell.id);
    add({
      id: 'reference',
      stage: 'reference',
      target: home,
      inputs: { model, eval_data: evalData },
      params: { batch: p.evaluate.batch, eval_data: evalParams },
    }, cell.id);
    // Activation ranges come from the calibration data alone, in their own
    // node, so changing the evaluation data does not invalidate transforms.
    if (calibData) {
      add({
        id: 'ranges',
        stage: 'reference',
        target: home,
        inputs: { model, calib_data: calibData },
        params: { batch: p.evaluate.batch, calib_data: { samples: p.data.calibration!.samples } },
      }, cell.id);
    }
    const transform = add({
      id: `transform@${cell.precision}`,
      stage: 'transform',
      target: home,
      inputs: { model, ...(calibData ? { ranges: { kind: 'stage', node: 'ranges', output: 'ranges' } } : {}) },
      params: {
        policy: {
          default: cell.precision,
          io: p.precision.io,
          ...(p.precision.opset !== undefined ? { opset: p.precision.opset } : {}),
          rules: p.precision.rules,
          safety: p.precision.safety,
        },
        calibration: p.calibration,
      },
    }, cell.id);
    // Evaluate and benchmark load the engine with the target's backend (an engine is backend-specific).
    const runtime = { backend: target.backend, opt_level: target.build.opt_level, threads: target.build.threads };
    const build = add({
      id: `build@${cell.id}`,
      stage: 'build',
      target: cell.target,
      inputs: { model: { kind: 'stage', node: transform.id, output: 'model' } },
      // Declared shape ranges become optimization profiles; a batch-axis cell builds for its batch.
      params: {
        backend: target.backend,
        numerics: target.numerics,
        precision: cell.precision,
        ...target.build,
        ...(Object.keys(p.model.inputs).length ? { shapes: p.model.inputs } : {}),
        ...(cell.batch !== undefined ? { batch: cell.batch } : {}),
      },
    }, cell.id);
    const engine: InputRef = { kind: 'stage', node: build.id, output: 'engine' };
    add({
      id: `evaluate@${cell.id}`,
      stage: 'evaluate',
      target: cell.target,
      inputs: { engine, eval_data: evalData, reference: { kind: 'stage', node: 'reference', output: 'reference' } },
      params: { batch: p.evaluate.batch, eval_data: evalParams, ...runtime },
    }, cell.id);
    add({
      id: `benchmark@${cell.id}`,
      stage: 'benchmark',
      target: cell.target,
      inputs: { engine, eval_data: evalData },
      params: {
        eval_data: evalParams,
        batches: cell.batch !== undefined ? [cell.batch] : p.benchmark.batch,
        warmup: p.benchmark.warmup,
        iterations: p.benchmark.iterations,
        max_seconds: p.benchmark.max_seconds,
        ...runtime,
      },
    }, cell.id);
  }
  return { cells, nodes };
}

function dataRef(d: { npz?: string; dir?: string }, role: 'eval_data' | 'calib_data'): InputRef {
  // Directories and synthetic data are packed into one .npz before upload
  // (run/data-pack.ts); the graph only needs a stable path to key on.
  return { kind: 'file', path: d.npz ?? d.dir ?? `synthetic:${role}`, role };
}
