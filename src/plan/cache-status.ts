/**
 * Which stages of a plan would run and which are already cached, without
 * running anything: a stage whose key is known and whose cache entry exists
 * is cached; a key can be unknown because the target's runner has not been
 * asked yet (its identity is part of the key), or because an input file cannot
 * be read, in which case the stage cannot be cached. Inputs are hashed as a
 * run hashes them (run/keyed-graph.ts), synthetic data and data folders included.
 */
import type { StageGraph } from './graph.js';
import { PORTABLE_STAGES } from './keys.js';

export type StageStatus =
  | { status: 'cached'; key: string }
  | { status: 'to-run'; key: string }
  | { status: 'unknown'; reason: string }
  | { status: 'not-cacheable'; reason: string };

export interface StatusInputs {
  keys: Map<string, string>;
  /** Targets whose identity is known (from a past run). */
  knownTargets: Set<string>;
  /** Input files with a content hash. */
  hashedFiles: Set<string>;
  isCached(key: string): boolean;
}

export function stageStatuses(graph: StageGraph, inputs: StatusInputs): Map<string, StageStatus> {
  const out = new Map<string, StageStatus>();
  for (const node of graph.nodes) {
    const key = inputs.keys.get(node.id);
    if (key) {
      out.set(node.id, inputs.isCached(key) ? { status: 'cached', key } : { status: 'to-run', key });
      continue;
    }
    const unhashed = Object.values(node.inputs).find((i) => i.kind === 'file' && !inputs.hashedFiles.has(i.path));
    const blockedDep = node.deps.map((d) => out.get(d)).find((s) => s?.status === 'not-cacheable');
    if (unhashed?.kind === 'file') {
      out.set(node.id, { status: 'not-cacheable', reason: `cannot hash ${unhashed.path}` });
    } else if (blockedDep?.status === 'not-cacheable') {
      out.set(node.id, { status: 'not-cacheable', reason: blockedDep.reason });
    } else {
      const target = !PORTABLE_STAGES.has(node.stage) && !inputs.knownTargets.has(node.target) ? node.target : undefined;
      out.set(node.id, { status: 'unknown', reason: target ? `unknown until the runner of '${target}' is asked` : 'unknown until the runner is asked' });
    }
  }
  return out;
}
