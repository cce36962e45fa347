/**
 * Matrix expansion: precision x target, minus `exclude`, plus `include`, in a
 * predictable order with predictable names (`digits@fp16-cpu`).
 */
import type { Pipeline, Precision } from '../config/types.js';

export interface Cell {
  /** `<precision>-<target>`: unique within the pipeline. */
  id: string;
  /** `<pipeline>@<precision>-<target>`. */
  name: string;
  precision: Precision;
  target: string;
}

export function expandMatrix(p: Pipeline): Cell[] {
  const cells: Cell[] = [];
  const add = (precision: Precision, target: string) => {
    const id = `${precision}-${target}`;
    if (!cells.some((c) => c.id === id)) cells.push({ id, name: `${p.name}@${id}`, precision, target });
  };
  for (const target of p.matrix.target) {
    for (const precision of p.matrix.precision) {
      const excluded = p.matrix.exclude.some(
        (x) => (x.precision === undefined || x.precision === precision) && (x.target === undefined || x.target === target),
      );
      if (!excluded) add(precision, target);
    }
  }
  for (const inc of p.matrix.include) {
    const targets = inc.target !== undefined ? [inc.target] : p.matrix.target;
    const precisions = inc.precision !== undefined ? [inc.precision] : p.matrix.precision;
    for (const t of targets) for (const pr of precisions) add(pr, t);
  }
  return cells;
}
