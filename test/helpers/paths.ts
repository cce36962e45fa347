/** Paths for tests, independent of where uvu runs from. */
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { PACKAGE_ROOT } from '../../src/paths.js';

export const ROOT = PACKAGE_ROOT;
export const CLI = path.join(ROOT, 'bin', 'trtpipe.js');
export const EXAMPLES = path.join(ROOT, 'examples');

export function tempDir(prefix = 'trtpipe-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}
