/** Finding and reading recorded runs. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../cli/user-error.js';
import type { RunRecord } from './run-record.js';

/**
 * Resolves a run by id, folder or run.json path; the newest run when `ref`
 * is undefined.
 */
export function findRun(stateRoot: string, ref?: string): { dir: string; record: RunRecord } {
  const runs = path.join(stateRoot, 'runs');
  let dir: string | undefined;
  if (ref === undefined) {
    const ids = existsSync(runs) ? readdirSync(runs).filter((d) => !d.startsWith('.')).sort() : [];
    if (!ids.length) throw new UserError(`no runs in ${path.relative(process.cwd(), runs) || runs}; run a pipeline first`);
    dir = path.join(runs, ids[ids.length - 1]!);
  } else if (existsSync(ref)) {
    dir = statSync(ref).isDirectory() ? ref : path.dirname(ref);
  } else if (existsSync(path.join(runs, ref))) {
    dir = path.join(runs, ref);
  } else {
    throw new UserError(`no run '${ref}' (give a run id from ${path.relative(process.cwd(), runs) || runs}, or a run folder)`);
  }
  const file = path.join(dir, 'run.json');
  if (!existsSync(file)) throw new UserError(`${dir} has no run.json`);
  return { dir, record: JSON.parse(readFileSync(file, 'utf8')) as RunRecord };
}
