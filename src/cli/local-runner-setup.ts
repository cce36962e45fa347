/**
 * Makes the local runner's Python environment before a command needs it, with
 * progress on stderr: the first use of an installed trtpipe takes a minute or
 * two (pip downloads the runner's dependencies), and a progress renderer that
 * starts later must not be interleaved with these lines.
 */
import type { Pipeline } from '../config/types.js';
import { ensureLocalPython, type LocalPython } from '../runner-client/runner-env.js';

/** Ensures the environment when `pipeline` (or, without one, the command itself) uses the local runner. */
export async function prepareLocalRunner(python: string | undefined, pipeline?: Pipeline): Promise<LocalPython | undefined> {
  if (pipeline && !pipeline.targets.some((t) => t.runners.includes('local'))) return undefined;
  return ensureLocalPython(python, (line) => process.stderr.write(`trtpipe: ${line}\n`));
}
