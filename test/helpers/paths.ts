/** Paths for tests, independent of where uvu runs from. */
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const ROOT = PACKAGE_ROOT;
export const CLI = path.join(ROOT, 'bin', 'trtpipe.js');
export const EXAMPLES = path.join(ROOT, 'examples');

/** Every folder tempDir made in this process: removed when it exits (the disk filled up once from /tmp/trtpipe-*). */
const made: string[] = [];
let hooked = false;

function removeAll(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A folder still in use by a child on its way out: nothing to do at exit.
    }
  }
}

/** A fresh folder under the system's temporary folder, removed at process exit. */
export function tempDir(prefix = 'trtpipe-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', removeAll);
  }
  return dir;
}
