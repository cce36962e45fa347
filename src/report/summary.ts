/**
 * Per-cell summary of a run: accuracy, latency and precision counts pulled
 * from the stage results. metrics.json is this structure; the reports render it.
 */
import type { Cell } from '../config/matrix.js';
import type { StageGraph } from '../plan/graph.js';
import { nodeId } from '../plan/node-id.js';
import { LOWERED, type Pipeline } from '../config/types.js';
import { NOT_FLOAT } from '../gen/contract/vocabulary.js';
import { checkEvaluation } from './tolerances.js';
import { cellNoise } from './noise.js';
import type { CellSummary, LowPrecisionNodes } from '../gen/schema/run-record.js';
import type { NodeFailure, NodeResult } from '../store/stage-result.js';

export interface RunOutcomeView {
  graph: StageGraph;
  evaluate?: Pick<Pipeline['evaluate'], 'tolerances' | 'outputs'>;
  /** benchmark.noise_max as a fraction (0.1 = 10%). */
  noiseMax?: number;
  results: Map<string, NodeResult>;
  failures: Map<string, NodeFailure>;
  skipped: Map<string, string>;
}

export function summarizeCells(o: RunOutcomeView): CellSummary[] {
  return o.graph.cells.map((cell) => summarizeCell(cell, o));
}

function summarizeCell(cell: Cell, o: RunOutcomeView): CellSummary {
  const nodes = o.graph.nodes.filter((n) => n.cells.includes(cell.id));
  const failed = nodes.find((n) => o.failures.has(n.id));
  const evaluate = o.results.get(nodeId.evaluate(cell.id));
  const bench = o.results.get(nodeId.benchmark(cell.id));
  const transform = o.results.get(nodeId.transform(cell.precision));
  const build = o.results.get(nodeId.build(cell.id));
  const latency: CellSummary['latency'] = {};
  for (const [k, v] of Object.entries(bench?.metrics ?? {})) {
    const m = /^b(\d+)\.(.+)$/.exec(k);
    if (m) (latency[m[1]!] ??= {})[m[2]!] = v;
  }
  const noise = bench && o.noiseMax !== undefined ? cellNoise(latency, o.noiseMax) : undefined;
  const allDone = nodes.every((n) => o.results.has(n.id));
  const status: CellSummary['status'] = failed ? 'failed' : allDone ? 'ok' : 'skipped';
  const f = failed ? o.failures.get(failed.id)! : undefined;
  return {
    id: cell.id,
    name: cell.name,
    precision: cell.precision,
    target: cell.target,
    status,
    ...(failed && f ? { failure: { stage: failed.id, message: f.message, code: f.code, ...(f.node ? { node: f.node } : {}) } } : {}),
    accuracy: evaluate?.metrics ?? {},
    latency,
    ...(noise ? { noise } : {}),
    precisionCounts: (transform?.details.resolved_counts as Record<string, number> | undefined) ?? {},
    ...(build?.details.realized_counts ? { realizedCounts: build.details.realized_counts as Record<string, number> } : {}),
    ...(transform?.metrics.nodes_low_precision !== undefined ? { lowPrecision: lowFromMetrics(transform.metrics, build?.metrics) } : {}),
    build: build?.details ?? {},
    tolerances: evaluate && o.evaluate
      ? checkEvaluation(o.evaluate, evaluate.metrics, evaluate.details.outputs as Record<string, Record<string, number>> | undefined)
      : [],
  };
}

/** The runner's own counts: the transform's nodes_low_precision / nodes_float, the build's nodes_realized_low_precision. */
function lowFromMetrics(transform: Record<string, number>, build: Record<string, number> | undefined): LowPrecisionNodes {
  const ran = build?.nodes_realized_low_precision;
  return { ...(ran !== undefined ? { ran } : {}), resolved: transform.nodes_low_precision!, total: transform.nodes_float ?? 0 };
}

/**
 * How many of a cell's float nodes ran in a low precision (fp16, bf16, int8, fp8),
 * beside how many the lockfile resolved to one: the runner's counts (`lowPrecision`). `ran` is
 * undefined where the backend explained nothing; the whole is undefined for a cell that did
 * not complete (what it would have run is not a fact). Records and cache entries from before
 * the runner counted are counted from their per-precision counts.
 */
export function lowPrecisionNodes(c: Pick<CellSummary, 'status' | 'precisionCounts' | 'realizedCounts' | 'lowPrecision'>): LowPrecisionNodes | undefined {
  if (c.status !== 'ok') return undefined;
  if (c.lowPrecision && (c.lowPrecision.ran !== undefined || !c.realizedCounts)) return c.lowPrecision.total ? c.lowPrecision : undefined;
  const total = Object.entries(c.precisionCounts).filter(([p]) => p !== NOT_FLOAT).reduce((s, [, n]) => s + n, 0);
  if (!total) return undefined;
  const low = (counts: Record<string, number>) => Object.entries(counts).filter(([p]) => LOWERED.includes(p)).reduce((s, [, n]) => s + n, 0);
  return { ...(c.realizedCounts ? { ran: low(c.realizedCounts) } : {}), resolved: low(c.precisionCounts), total };
}

/** "10/67 ran (67 resolved)", or "–". */
export function describeLowPrecision(c: Pick<CellSummary, 'status' | 'precisionCounts' | 'realizedCounts' | 'lowPrecision'>): string {
  const n = lowPrecisionNodes(c);
  if (!n) return '–';
  return `${n.ran === undefined ? '?' : n.ran}/${n.total} ran (${n.resolved} resolved)`;
}
