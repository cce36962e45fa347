/** The state folder a command works in: --state-dir, $TRTPIPE_STATE_DIR, or ./.trtpipe. */
import { statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** @throws InputError when the path exists and is not a folder (a file, a FIFO, a device). */
export function stateRootOf(flag: string | undefined): string {
  const given = flag ?? process.env.TRTPIPE_STATE_DIR ?? '.trtpipe';
  const root = path.resolve(given);
  let isDir = true;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // Not there yet: made when first written.
  }
  if (!isDir)
    throw new InputError(`state folder ${given} exists and is not a folder; give a folder with --state-dir (or TRTPIPE_STATE_DIR)`);
  return root;
}
