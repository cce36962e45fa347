/**
 * The one path from a pipeline to a keyed stage graph, shared by `run`, `lock`, `search` (through
 * executePipeline) and `plan`: expand the matrix -> build the stage graph (pruned to what a
 * command needs) -> hash its input files (data folders and synthetic data as manifests, a model
 * with external data as its manifest) -> content keys, given each target's identity. `plan`
 * differs only in where identities come from (the last run that used the target, not a runner)
 * and in tolerating a file it cannot read (that stage shows as not cacheable); so its keys are
 * the keys a run computes.
 */
import { expandMatrix } from '../config/matrix.js';
import type { Pipeline } from '../config/types.js';
import { buildGraph, type GraphOptions, type StageGraph, type StageNode } from '../plan/graph.js';
import { computeKeys } from '../plan/keys.js';
import { pruneGraph } from '../plan/prune.js';
import type { FileArtifact } from './artifact-mover.js';
import { hashInputFiles } from './input-files.js';

export interface GraphRequest extends GraphOptions {
  /** Keep only the nodes selected (and what they depend on): `lock` the transforms, `search` the search. */
  only?: (n: StageNode) => boolean;
}

/** The pipeline's stage graph: every cell, or what `only` selects. */
export function stageGraph(p: Pipeline, req: GraphRequest = {}): StageGraph {
  const full = buildGraph(p, expandMatrix(p), req.searchKeep ? { searchKeep: req.searchKeep } : {});
  return req.only ? pruneGraph(full, req.only) : full;
}

export interface KeyedGraph {
  graph: StageGraph;
  /** Every input file the graph reads, by graph path, hashed (those that could be). */
  files: Map<string, FileArtifact>;
  /** Content key per node; a node without one is never cached. */
  keys: Map<string, string>;
}

/** Hashes a graph's input files (manifests go to `tmpDir`); `tolerant`: an unreadable file is left out. */
export function hashInputs(graph: StageGraph, tmpDir: string, tolerant = false): Promise<Map<string, FileArtifact>> {
  // A run refuses data with NaN/Inf before any stage starts; `plan` (tolerant) only keys the graph.
  return hashInputFiles(graph, tmpDir, { tolerant, refuseNonfinite: !tolerant });
}

/** Content keys of a graph whose inputs are hashed, given the identity of each target that has one. */
export function keysOf(
  graph: StageGraph,
  files: Map<string, FileArtifact>,
  identities: Map<string, Record<string, unknown>>,
): Map<string, string> {
  return computeKeys(graph, { fileHashes: new Map([...files].map(([k, v]) => [k, v.sha256])), targetIdentity: identities });
}

/** The whole path for a command that does not start runners (`plan`). */
export async function keyedGraph(
  p: Pipeline,
  req: GraphRequest & { tmpDir: string; identities: Map<string, Record<string, unknown>> },
): Promise<KeyedGraph> {
  const graph = stageGraph(p, req);
  const files = await hashInputs(graph, req.tmpDir, true);
  return { graph, files, keys: keysOf(graph, files, req.identities) };
}
