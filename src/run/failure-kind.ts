/**
 * What kind of failure a failed stage node is (src/errors.ts kinds), for the CLI's exit code:
 * a runner lost or unreachable is `runner`; a user error (bad model, data that does not fit, a
 * rule matching nothing, an outdated lockfile) in a stage that reads the user's model, data and
 * policy is `input`, and so is bad data (a `DATA_*` code) in any stage, evaluation data included
 * (the README promises exit 2 for bad data); anything else is a failed `stage`.
 */
import type { ErrorKind } from '../errors.js';
import { parseNodeId } from '../plan/node-id.js';
import type { NodeFailure } from '../store/stage-result.js';

/** Nodes that read the user's model, data and policy (by node name: `ranges` is the reference stage). */
const INPUT_NODES: ReadonlySet<string> = new Set(['inspect', 'reference', 'ranges', 'calibrate', 'search', 'transform']);

export function failureKind(node: string, f: Pick<NodeFailure, 'user' | 'unavailable' | 'code'>): ErrorKind {
  if (f.unavailable) return 'runner';
  return f.user && (INPUT_NODES.has(parseNodeId(node).name) || f.code.startsWith('DATA_')) ? 'input' : 'stage';
}
