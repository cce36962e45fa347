/**
 * Content keys: a stage's key is the hash of a canonical entry naming the
 * stage and its version, its parameters, the content hash of every input
 * (files by their bytes, stage outputs by their producer's key) and the
 * identity of the runner/backend it runs on. Equal keys mean equal work.
 */
import { canonicalJson, sha256Hex } from './canonical.js';
import { STAGE_VERSIONS, type StageGraph, type StageNode } from './graph.js';

export interface KeyContext {
  /** sha256 of each input file, by path. */
  fileHashes: Map<string, string>;
  /** Identity of each target (backend, versions, GPU, driver), by target name. */
  targetIdentity: Map<string, Record<string, unknown>>;
}

/** Stages whose result does not depend on where they run (pure graph/data work). */
export const PORTABLE_STAGES: ReadonlySet<string> = new Set(['inspect', 'transform']);

/** Returns a key per node id; a node with an unhashable input gets no key. */
export function computeKeys(graph: StageGraph, ctx: KeyContext): Map<string, string> {
  const keys = new Map<string, string>();
  for (const node of graph.nodes) {
    const entry = keyEntry(node, keys, ctx);
    if (entry) keys.set(node.id, sha256Hex(canonicalJson(entry)));
  }
  return keys;
}

export function keyEntry(node: StageNode, keys: Map<string, string>, ctx: KeyContext): Record<string, unknown> | undefined {
  const inputs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(node.inputs)) {
    const h = ref.kind === 'file' ? ctx.fileHashes.get(ref.path) : keys.get(ref.node) && `${keys.get(ref.node)}#${ref.output}`;
    if (!h) return undefined;
    inputs[name] = h;
  }
  const identity = PORTABLE_STAGES.has(node.stage) ? { runner: 'any' } : ctx.targetIdentity.get(node.target);
  if (!identity) return undefined;
  return { stage: node.stage, version: STAGE_VERSIONS[node.stage], params: node.params, inputs, identity };
}
