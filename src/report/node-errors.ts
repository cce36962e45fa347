/**
 * Where a cell departs from FP32, node by node: the localize stage's result
 * (`localize@<cell>`) joined with the precision each node really ran in, for
 * `trtpipe explain --errors` and the report's error section.
 */
import type { LocalizeDetails, Measure } from '../gen/contract/stages.js';
import { NOT_FLOAT, type REALIZED_REASONS, UNKNOWN_REALIZED } from '../gen/contract/vocabulary.js';
import type { RunRecord } from '../gen/schema/run-record.js';
import { nodeId } from '../plan/node-id.js';
import { explainCell } from './explain.js';

export interface NodeError {
  node: string;
  op: string;
  /** Position in the graph's (topological) order. */
  index: number;
  /** ||low - fp32|| / ||fp32|| of its output, over the samples. */
  relError: number;
  cosine: number;
  maxAbs: number;
  nonfinite: number;
  /** Its own rounding: its output against the FP32 node run on the inputs it got, on the reference's scale. */
  added: number;
  /** Output error minus the worst error of its inputs (amplification counts too). */
  growth: number;
  /** 1 - cosine of the model's outputs with only this node's own error; measured for the worst nodes only. */
  impact?: number;
  /** What the backend ran it in (explain), '?' when fused away or not explained. */
  realized: string;
  /** The cell's build fused it into another layer: the capture, which keeps it out of fusions, measured it unfused. */
  fusedInBuild: boolean;
}

export interface CellErrors {
  cell: string;
  backend: string;
  samples: number;
  seconds: number;
  /** The cosine a node's output must keep (evaluate.tolerances.cosine, else the search budget's). */
  tolerance?: number;
  nodes: NodeError[];
  /** Nodes by added error, largest first. */
  ranked: NodeError[];
  firstCrossing?: NodeError;
  /** Nodes whose outputs could not be captured, with why. */
  uncaptured: Record<string, string>;
}

/** The backend's reasons for a node it fused into another layer (explain rows). */
const FUSED_REASONS: readonly (keyof typeof REALIZED_REASONS)[] = ['FUSED', 'FUSED_INTO_FP32_LAYER', 'FUSED_INTO_LOWER_LAYER'];

/** The cell's build fused the node (explain's reason is `policy+backend` where the backend qualifies it). */
function fused(row: { reason: string; realized: string; resolved: string }): boolean {
  const reasons = row.reason.split('+');
  return FUSED_REASONS.some((r) => reasons.includes(r)) || (row.realized === UNKNOWN_REALIZED && row.resolved !== NOT_FLOAT);
}

/** JSON details carry non-finite numbers as strings (runner jsonsafe). */
function num(v: Measure): number {
  if (typeof v === 'number') return v;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return NaN;
}

/** Larger first; NaN last. */
function byAdded(a: NodeError, b: NodeError): number {
  const x = Number.isNaN(a.added) ? -Infinity : a.added;
  const y = Number.isNaN(b.added) ? -Infinity : b.added;
  return x === y ? a.index - b.index : y > x ? 1 : -1;
}

/** The localization of a cell, or undefined when the run has none for it. */
export function cellErrors(record: RunRecord, cellId: string): CellErrors | undefined {
  const cell = record.cells.find((c) => c.id === cellId || c.name === cellId);
  const stage = cell && record.stages[nodeId.localize(cell.id)];
  // The localize stage's details as the contract types them (proto/.../contract/stages/localize.schema.json).
  const d = stage?.details as LocalizeDetails | undefined;
  if (!cell || !d || !Array.isArray(d.nodes)) return undefined;
  const explained = new Map((explainCell(record, cell.id)?.rows ?? []).map((r) => [r.node, r]));
  const nodes = d.nodes.map((n): NodeError => {
    const e = explained.get(n.node);
    return {
      node: n.node,
      op: n.op,
      index: n.index,
      relError: num(n.rel_error),
      cosine: num(n.cosine),
      maxAbs: num(n.max_abs),
      nonfinite: n.nonfinite,
      added: num(n.added),
      growth: num(n.growth),
      ...(n.impact !== undefined ? { impact: num(n.impact) } : {}),
      realized: e?.realized ?? UNKNOWN_REALIZED,
      fusedInBuild: e !== undefined && fused(e),
    };
  });
  const first = d.first_crossing;
  const tolerance = d.tolerance.cosine;
  return {
    cell: cell.name,
    backend: d.backend,
    samples: d.samples,
    seconds: d.seconds,
    ...(tolerance !== undefined ? { tolerance } : {}),
    nodes,
    ranked: [...nodes].sort(byAdded),
    ...(first ? { firstCrossing: nodes.find((n) => n.node === first.node) } : {}),
    uncaptured: Object.fromEntries(Object.entries(d.uncaptured).flatMap(([k, v]) => (v === undefined ? [] : [[k, v]]))),
  };
}

/** The cells of a run that were localized, in matrix order. */
export function localizedCells(record: RunRecord): CellErrors[] {
  return record.cells.map((c) => cellErrors(record, c.id)).filter((e): e is CellErrors => e !== undefined);
}
