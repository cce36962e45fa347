/**
 * The git commit of the repository holding a folder, for the run record's
 * provenance. Best effort: a folder outside any repository, or a machine
 * without git, gives `undefined`, never an error.
 */
import { execFile } from 'node:child_process';
import type { GitInfo } from '../gen/schema/run-record.js';

export type { GitInfo } from '../gen/schema/run-record.js';

function git(args: string[], cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, timeout: 5000, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout.trim()));
  });
}

export async function gitCommit(dir: string): Promise<GitInfo | undefined> {
  // Both at once: every run, a fully cached one too, waits for them.
  const [commit, status] = await Promise.all([
    git(['rev-parse', 'HEAD'], dir),
    git(['status', '--porcelain', '--untracked-files=no'], dir),
  ]);
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  return { commit, ...(status !== undefined ? { dirty: status.length > 0 } : {}) };
}
