/**
 * Named baselines: copies of run records in .trtpipe/baselines/<name>.json
 * that later runs are compared with (`trtpipe baseline save`, `trtpipe run
 * --baseline NAME`). A copy, not a link: the runs folder can be cleaned.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, TrtpipeError } from '../errors.js';
import { suggest } from '../config/suggest.js';
import { writeFileAtomic } from './atomic.js';
import { readRunRecord, resolveRun } from './run-ref.js';
import type { RunRecord } from '../gen/schema/run-record.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function baselinesDir(stateRoot: string): string {
  return path.join(stateRoot, 'baselines');
}

export interface Baseline {
  record: RunRecord;
  /** The baseline's name, when it came from the baselines folder. */
  name?: string;
  file: string;
}

/** Copies a run record (byte for byte, atomically) to baselines/<name>.json; returns the file. */
export async function saveBaseline(stateRoot: string, runFile: string, name: string): Promise<{ file: string; record: RunRecord }> {
  if (!NAME.test(name)) throw new InputError(`baseline name '${name}': use letters, digits, '.', '_' and '-' (at most 64)`);
  const record = await readRunRecord(runFile);
  const file = path.join(baselinesDir(stateRoot), `${name}.json`);
  await writeFileAtomic(file, await readFile(runFile));
  return { file, record };
}

export async function listBaselines(stateRoot: string): Promise<string[]> {
  const files = await readdir(baselinesDir(stateRoot)).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
}

/**
 * A baseline by name (baselines/<name>.json) or, failing that, any run
 * reference (run id, latest, folder, run.json).
 */
export async function loadBaseline(stateRoot: string, ref: string): Promise<Baseline> {
  const names = await listBaselines(stateRoot);
  if (names.includes(ref)) {
    const file = path.join(baselinesDir(stateRoot), `${ref}.json`);
    return { record: await readRunRecord(file), name: ref, file };
  }
  try {
    const run = await resolveRun(ref, stateRoot);
    return { record: await readRunRecord(run.file), file: run.file };
  } catch (err) {
    if (!(err instanceof TrtpipeError)) throw err;
    const hint = suggest(ref, names);
    throw new InputError(`no baseline '${ref}'${hint ? `; did you mean '${hint}'?` : names.length ? ` (baselines: ${names.join(', ')})` : ''}; ` +
        `save one with: trtpipe baseline save <run> --name ${NAME.test(ref) ? ref : 'main'}`);
  }
}
