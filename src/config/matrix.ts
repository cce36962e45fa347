/**
 * Matrix expansion: target x precision (x batch, when the pipeline has a
 * batch axis), minus `exclude`, plus `include` (after exclude, as in GitHub
 * Actions), in a predictable order with predictable names:
 * `digits@fp16-cpu`, or `digits@fp16-cpu-b8` with a batch axis.
 */
import type { MatrixCellSpec, Pipeline, Precision } from './types.js';

export interface Cell {
  /** `<precision>-<target>[-b<batch>]`: unique within the pipeline. */
  id: string;
  /** `<pipeline>@<id>`. */
  name: string;
  precision: Precision;
  target: string;
  /** The batch this cell builds for and benchmarks (batch axis or an include naming one). */
  batch?: number;
}

export interface MatrixExpansion {
  cells: Cell[];
  /** Per matrix.exclude entry: how many cells it removed. */
  excluded: number[];
  /** Per matrix.include entry: how many cells it added. */
  included: number[];
}

export function expandMatrixDetailed(p: Pipeline): MatrixExpansion {
  const cells: Cell[] = [];
  const add = (precision: Precision, target: string, batch: number | undefined): boolean => {
    const id = `${precision}-${target}${batch === undefined ? '' : `-b${batch}`}`;
    if (cells.some((c) => c.id === id)) return false;
    cells.push({ id, name: `${p.name}@${id}`, precision, target, ...(batch === undefined ? {} : { batch }) });
    return true;
  };
  const batches: (number | undefined)[] = p.matrix.batch ?? [undefined];
  const matches = (x: MatrixCellSpec, precision: Precision, target: string, batch: number | undefined) =>
    (x.precision === undefined || x.precision === precision) &&
    (x.target === undefined || x.target === target) &&
    (x.batch === undefined || x.batch === batch);
  const excluded = p.matrix.exclude.map(() => 0);
  for (const target of p.matrix.target) {
    for (const precision of p.matrix.precision) {
      for (const batch of batches) {
        const hits = p.matrix.exclude.map((x) => matches(x, precision, target, batch));
        hits.forEach((hit, i) => hit && (excluded[i]! += 1));
        if (!hits.some(Boolean)) add(precision, target, batch);
      }
    }
  }
  const included = p.matrix.include.map((inc) => {
    let n = 0;
    for (const t of inc.target !== undefined ? [inc.target] : p.matrix.target) {
      for (const pr of inc.precision !== undefined ? [inc.precision] : p.matrix.precision) {
        for (const b of inc.batch !== undefined ? [inc.batch] : batches) if (add(pr, t, b)) n += 1;
      }
    }
    return n;
  });
  return { cells, excluded, included };
}

export function expandMatrix(p: Pipeline): Cell[] {
  return expandMatrixDetailed(p).cells;
}

/** Batch sizes the benchmarks measure: each cell's own batch with a batch axis, else benchmark.batch. */
export function benchmarkBatches(p: Pipeline, cells: Cell[] = expandMatrix(p)): number[] {
  const own = [...new Set(cells.flatMap((c) => (c.batch === undefined ? [] : [c.batch])))];
  if (!own.length) return p.benchmark.batch;
  const plain = cells.some((c) => c.batch === undefined) ? p.benchmark.batch : [];
  return [...new Set([...plain, ...own])].sort((a, b) => a - b);
}
