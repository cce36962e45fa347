/** Writing test data files with the project's Python (numpy), as the runner would read them. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './paths.js';

export const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');

/**
 * Copies the npz `from` to `to`, changing its arrays with Python statements run on `z` (a dict
 * of numpy arrays; `np` is numpy), e.g. `z['input'][3] = np.nan`. `compressed`: savez_compressed.
 */
export function editNpz(from: string, to: string, statements: string, compressed = false): void {
  const code = `import numpy as np, sys\nz = {k: v.copy() for k, v in np.load(sys.argv[1]).items()}\n${statements}\nnp.${compressed ? 'savez_compressed' : 'savez'}(sys.argv[2], **z)\n`;
  execFileSync(PYTHON, ['-c', code, from, to]);
}
