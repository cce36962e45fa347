/**
 * The stage graph of a pipeline: shared stages (inspect, reference, one
 * transform per precision) and per-cell stages (build, evaluate, benchmark).
 * Pure: no I/O beyond what the caller passes in.
 */
import type { DataSource, Metric, Pipeline, Precision, Tolerances } from '../config/types.js';
import type { StageParamsByName } from '../gen/contract/stages.js';
import { PRECISION_INFO } from '../gen/contract/vocabulary.js';
import type { Cell } from '../config/matrix.js';
import { nodeId } from './node-id.js';

/** The stages a plan has (the contract's, less `hold`, which is never planned). */
export type StageName =
  | 'inspect'
  | 'reference'
  | 'calibrate'
  | 'search'
  | 'transform'
  | 'build'
  | 'evaluate'
  | 'localize'
  | 'benchmark';

/** Where a stage input comes from: a file of the user's, or another stage's output. */
export type InputRef =
  | { kind: 'file'; path: string; role: 'model' | 'calib_data' | 'eval_data'; data?: DataSource }
  | { kind: 'stage'; node: string; output: string };

interface NodeBase {
  /** `transform@fp16`, `build@fp16-cpu`, ... (node-id.ts) */
  id: string;
  /** The target whose runner runs it. */
  target: string;
  /** Cells this node serves (shared nodes serve several). */
  cells: string[];
  inputs: Record<string, InputRef>;
  deps: string[];
}

/** A stage node: its params are the stage's, as the contract types them (proto/.../contract/stages/). */
export type StageNode = { [S in StageName]: NodeBase & { stage: S; params: StageParamsByName[S] } }[StageName];
type NodeSpec = { [S in StageName]: Omit<NodeBase, 'deps' | 'cells'> & { stage: S; params: StageParamsByName[S] } }[StageName];

export interface StageGraph {
  cells: Cell[];
  /** Nodes in a valid execution order. */
  nodes: StageNode[];
}

/** Bumped when a stage's behaviour changes, so old cache entries stop matching. */
export const STAGE_VERSIONS: Record<StageName, number> = {
  inspect: 1,
  reference: 2,
  calibrate: 2,
  search: 3,
  transform: 3,
  build: 1,
  evaluate: 2,
  localize: 1,
  benchmark: 2,
};

export interface GraphOptions {
  /** Nodes a committed search result keeps in fp32 (for cells of `towards`); no search node then. */
  searchKeep?: { towards: string; kept: string[] };
}

export function buildGraph(p: Pipeline, cells: Cell[], opts: GraphOptions = {}): StageGraph {
  const nodes: StageNode[] = [];
  const byId = new Map<string, StageNode>();
  const home = cells[0]?.target ?? p.targets[0]!.name;
  const add = (n: NodeSpec, cell: string): StageNode => {
    const existing = byId.get(n.id);
    if (existing) {
      if (!existing.cells.includes(cell)) existing.cells.push(cell);
      return existing;
    }
    const deps = Object.values(n.inputs).flatMap((i) => (i.kind === 'stage' ? [i.node] : []));
    const node = { ...n, deps: [...new Set(deps)], cells: [cell] } as StageNode;
    nodes.push(node);
    byId.set(node.id, node);
    return node;
  };
  const model: InputRef = { kind: 'file', path: p.model.path, role: 'model' };
  const evalData = dataRef(p.data.evaluation, 'eval_data');
  const calibData = p.data.calibration ? dataRef(p.data.calibration, 'calib_data') : undefined;
  const evalParams = { labels: p.data.evaluation.labels, samples: p.data.evaluation.samples };
  // FLOPs are counted at the declared opt shapes (else at the evaluation data's): only when declared,
  // so the keys of pipelines without declared shapes do not move.
  const shapes = declaredShapes(p);
  const inputShapes = shapes ? { input_shapes: shapes } : {};

  for (const cell of cells) {
    const target = p.targets.find((t) => t.name === cell.target)!;
    add({ id: 'inspect', stage: 'inspect', target: home, inputs: { model }, params: {} }, cell.id);
    add({
      id: 'reference',
      stage: 'reference',
      target: home,
      inputs: { model, eval_data: evalData },
      params: { batch: p.evaluate.batch, eval_data: evalParams, ...inputShapes },
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
    // Q/DQ scales, only where this cell's policy can quantize something.
    const quantizes = isQuantized(cell.precision) || p.precision.rules.some((r) => isQuantized(r.use));
    if (quantizes && calibData) {
      add({
        id: 'calibrate',
        stage: 'calibrate',
        target: home,
        inputs: { model, calib_data: calibData },
        params: {
          batch: p.evaluate.batch,
          method: p.calibration.method,
          percentile: p.calibration.percentile,
          ...(p.calibration.smoothing ? { smoothing: p.calibration.smoothing } : {}),
          calib_data: { samples: p.data.calibration!.samples },
        },
      }, cell.id);
    }
    const policy = {
      default: cell.precision,
      io: p.precision.io,
      ...(p.precision.opset !== undefined ? { opset: p.precision.opset } : {}),
      rules: p.precision.rules,
      safety: p.precision.safety,
      unquantized: p.precision.unquantized,
    };
    // The precision search serves the cells of the precision it pushes towards:
    // from a committed result, or as a stage of this run.
    const search = p.precision.search?.towards === cell.precision ? p.precision.search : undefined;
    const committed = search && opts.searchKeep?.towards === cell.precision ? opts.searchKeep.kept : undefined;
    if (search && !committed) {
      add({
        id: 'search',
        stage: 'search',
        target: home,
        inputs: {
          model,
          eval_data: evalData,
          reference: { kind: 'stage', node: 'reference', output: 'reference' },
          ...(calibData ? { ranges: { kind: 'stage', node: 'ranges', output: 'ranges' } } : {}),
          ...(quantizes && calibData ? { scales: { kind: 'stage', node: 'calibrate', output: 'scales' } } : {}),
        },
        params: {
          policy,
          budget: search.budget,
          max_evaluations: search.max_evaluations,
          evaluator: search.evaluator,
          ranking: search.ranking,
          batch: p.evaluate.batch,
          eval_data: evalParams,
          // Candidates are annotated exactly as the transform will annotate them, and run as
          // this cell's target runs them (ONNX Runtime's optimization level changes numerics).
          calibration: p.calibration,
          ...(target.backend === 'onnxruntime' ? { settings: { opt_level: target.build.opt_level, threads: target.build.threads } } : {}),
          ...inputShapes,
        },
      }, cell.id);
    }
    const transform = add({
      id: nodeId.transform(cell.precision),
      stage: 'transform',
      target: home,
      inputs: {
        model,
        ...(calibData ? { ranges: { kind: 'stage', node: 'ranges', output: 'ranges' } } : {}),
        ...(quantizes && calibData ? { scales: { kind: 'stage', node: 'calibrate', output: 'scales' } } : {}),
        ...(search && !committed ? { search: { kind: 'stage', node: 'search', output: 'result' } } : {}),
      },
      params: {
        policy: committed ? { ...policy, search_keep: committed } : policy,
        calibration: p.calibration,
      },
    }, cell.id);
    // Evaluate and benchmark load the engine with the target's backend (an engine is backend-specific).
    const runtime = { backend: target.backend, opt_level: target.build.opt_level, threads: target.build.threads };
    // Declared shape ranges become optimization profiles; a batch-axis cell builds for its batch.
    const buildParams = {
      backend: target.backend,
      numerics: target.numerics,
      precision: cell.precision,
      ...target.build,
      // A TensorRT engine only runs the shapes of its optimization profile: the declared
      // ranges, else batch 1..the largest batch evaluate/benchmark run (backends/tensorrt/profiles.py).
      ...(target.backend === 'tensorrt'
        ? { input_shapes: p.model.inputs, max_batch: Math.max(p.evaluate.batch, cell.batch ?? 0, ...p.benchmark.batch) }
        : {}),
      ...(cell.batch !== undefined ? { batch: cell.batch } : {}),
    };
    const build = add({
      id: nodeId.build(cell.id),
      stage: 'build',
      target: cell.target,
      inputs: { model: { kind: 'stage', node: transform.id, output: 'model' } },
      params: buildParams,
    }, cell.id);
    const engine: InputRef = { kind: 'stage', node: build.id, output: 'engine' };
    add({
      id: nodeId.evaluate(cell.id),
      stage: 'evaluate',
      target: cell.target,
      inputs: { engine, eval_data: evalData, reference: { kind: 'stage', node: 'reference', output: 'reference' } },
      params: { batch: p.evaluate.batch, eval_data: evalParams, ...evaluateMetrics(p), ...runtime },
    }, cell.id);
    // Where the cell departs from FP32, node by node: the annotated model built again by the
    // cell's backend with every float tensor captured (after its build: the explain rows say
    // which nodes that build fused, whose capture measured them unfused).
    const localize = p.evaluate.localize;
    if (localize && cell.precision !== 'fp32') {
      const cosine = p.evaluate.tolerances.cosine?.min ?? p.precision.search?.budget.cosine;
      add({
        id: nodeId.localize(cell.id),
        stage: 'localize',
        target: cell.target,
        inputs: { model, annotated: { kind: 'stage', node: transform.id, output: 'model' }, eval_data: evalData },
        params: {
          build: buildParams,
          batch: Math.min(p.evaluate.batch, cell.batch ?? p.evaluate.batch),
          eval_data: evalParams,
          samples: localize.samples,
          impact_nodes: localize.impact_nodes,
          memory_mib: localize.memory_mib,
          reference_device: localize.reference_device,
          ...(localize.mask ? { mask: localize.mask } : {}),
          ...(cosine !== undefined ? { tolerance: { cosine } } : {}),
        },
      }, cell.id);
    }
    add({
      id: nodeId.benchmark(cell.id),
      stage: 'benchmark',
      target: cell.target,
      inputs: { engine, eval_data: evalData },
      params: {
        eval_data: evalParams,
        batches: cell.batch !== undefined ? [cell.batch] : p.benchmark.batch,
        warmup: p.benchmark.warmup,
        warmup_seconds: p.benchmark.warmup_seconds,
        iterations: p.benchmark.iterations,
        max_seconds: p.benchmark.max_seconds,
        // Only when set, so existing cache keys of single-repeat benchmarks stay valid.
        ...(p.benchmark.repeats > 1 ? { repeats: p.benchmark.repeats } : {}),
        ...runtime,
      },
    }, cell.id);
  }
  return { cells, nodes };
}

/**
 * The metrics the evaluate stage computes: `evaluate.metrics` plus every metric a
 * tolerance names; per output, the metrics its own tolerances name (nn_agreement
 * on an embedding output, say).
 */
function evaluateMetrics(p: Pipeline): { metrics: Metric[]; output_metrics?: Record<string, Metric[]> } {
  const named = (t: Tolerances) => Object.keys(t) as Metric[];
  const metrics = [...new Set([...p.evaluate.metrics, ...named(p.evaluate.tolerances)])].sort();
  const outputs = Object.entries(p.evaluate.outputs).map(([name, t]) => [name, named(t).sort()] as const);
  return { metrics, ...(outputs.length ? { output_metrics: Object.fromEntries(outputs) } : {}) };
}

/** `model.inputs.<name>.opt` of every input that declares one; undefined when none does. */
function declaredShapes(p: Pipeline): Record<string, number[]> | undefined {
  const out = Object.entries(p.model.inputs).filter(([, r]) => r.opt).map(([name, r]) => [name, r.opt!] as const);
  return out.length ? Object.fromEntries(out) : undefined;
}

function isQuantized(p: Precision): boolean {
  return PRECISION_INFO[p].kind === 'quantized';
}

function dataRef(d: DataSource, role: 'eval_data' | 'calib_data'): InputRef {
  // Folders and synthetic data travel as a manifest (run/input-files.ts);
  // the path is only the name the graph knows the input by.
  return { kind: 'file', path: d.npz ?? d.dir ?? `synthetic:${role}`, role, data: d };
}

/** The node `id` of a graph, typed by its stage (undefined when there is none, or it is another stage's). */
export function findNode<S extends StageName>(graph: StageGraph, stage: S, id: string): Extract<StageNode, { stage: S }> | undefined {
  return graph.nodes.find((n): n is Extract<StageNode, { stage: S }> => n.id === id && n.stage === stage);
}
