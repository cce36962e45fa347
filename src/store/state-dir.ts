/**
 * Layout of the state folder (.trtpipe by default):
 *   runs/<run-id>/   run.json, metrics.json, report.md (written atomically)
 *   runner-store/    the local runner's artifact store
 *   logs/            runner logs
 *   cache/           stage cache: <key>/entry.json, objects/, runner-identity/
 */
import path from 'node:path';

export interface StateDir {
  root: string;
  runs: string;
  runnerStore: string;
  logs: string;
  cache: string;
}

export function stateDir(root: string): StateDir {
  return {
    root,
    runs: path.join(root, 'runs'),
    runnerStore: path.join(root, 'runner-store'),
    logs: path.join(root, 'logs'),
    cache: path.join(root, 'cache'),
  };
}

/** A sortable, unique run id: 20261129-011700-3f9a. */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}
