/** The state folder a command works in: --state-dir, $TRTPIPE_STATE_DIR, or ./.trtpipe. */
import path from 'node:path';

export function stateRootOf(flag: string | undefined): string {
  return path.resolve(flag ?? process.env.TRTPIPE_STATE_DIR ?? '.trtpipe');
}
