/**
 * Stage node ids, built and read in this one place: shared nodes have the stage's name
 * (`inspect`, `reference`, `calibrate`, `search`) or their own (`ranges`: the reference stage
 * on the calibration data); a transform is per precision (`transform@fp16`); a build, evaluate,
 * localize and benchmark per cell (`build@fp16-cpu`). Run records and cache entries hold these ids.
 */

/** The node serving every cell (one per pipeline). */
export type SharedNodeId = 'inspect' | 'reference' | 'ranges' | 'calibrate' | 'search';
/** Stages with one node per precision or per cell. */
export type QualifiedStage = 'transform' | 'build' | 'evaluate' | 'localize' | 'benchmark';

export const nodeId = {
  transform: (precision: string): string => `transform@${precision}`,
  build: (cellId: string): string => `build@${cellId}`,
  evaluate: (cellId: string): string => `evaluate@${cellId}`,
  localize: (cellId: string): string => `localize@${cellId}`,
  benchmark: (cellId: string): string => `benchmark@${cellId}`,
};

/** A node id read back: its name (the stage, or `ranges`) and what follows `@` (a precision or a cell id). */
export interface ParsedNodeId {
  name: string;
  qualifier?: string;
}

export function parseNodeId(id: string): ParsedNodeId {
  const at = id.indexOf('@');
  return at < 0 ? { name: id } : { name: id.slice(0, at), qualifier: id.slice(at + 1) };
}

/** The precision of a `transform@<precision>` node; undefined for any other node. */
export function transformPrecision(id: string): string | undefined {
  const { name, qualifier } = parseNodeId(id);
  return name === 'transform' ? qualifier : undefined;
}
