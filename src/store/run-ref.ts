/**
 * Finding and reading a run record from what a user types: a run id (or a
 * unique prefix of one), `latest`, a run folder, or a run.json file.
 */
import { readdir, stat } from 'node:fs/promises';
import { RECORD_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import { InputError } from '../errors.js';
import { suggest } from '../config/suggest.js';
import { RUN_SCHEMA } from './run-record.js';
import { stateDir } from './state-dir.js';
import type { RunRecord } from '../gen/schema/run-record.js';

export interface RunLocation {
  /** The run.json file. */
  file: string;
  /** The folder the reports go to (the run folder). */
  dir: string;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function runIds(runsDir: string): Promise<string[]> {
  const names = await readdir(runsDir).catch(() => [] as string[]);
  return names.filter((n) => !n.startsWith('.')).sort();
}

/**
 * The newest run that has ended: a run still going (or killed outright) has a run.json of status
 * `running` (run-record.ts), which `latest` passes over while a finished run exists.
 */
function latestFinished(runs: string, ids: string[]): string | undefined {
  for (const id of [...ids].reverse()) {
    try {
      if ((JSON.parse(readUserText(path.join(runs, id, 'run.json'), 'run record', RECORD_FILE_LIMIT)) as { status?: unknown }).status !== 'running') return id;
    } catch {
      // unreadable: not a finished run
    }
  }
  return ids.at(-1);
}

export async function resolveRun(ref: string, stateRoot: string): Promise<RunLocation> {
  if (ref.endsWith('.json') && (await isFile(ref))) return { file: path.resolve(ref), dir: path.dirname(path.resolve(ref)) };
  if (await isFile(path.join(ref, 'run.json'))) return { file: path.resolve(ref, 'run.json'), dir: path.resolve(ref) };
  const runs = stateDir(stateRoot).runs;
  const ids = await runIds(runs);
  const pick = ref === 'latest' ? latestFinished(runs, ids) : ids.includes(ref) ? ref : (() => {
    const matches = ids.filter((id) => id.startsWith(ref));
    if (matches.length > 1) throw new InputError(`run '${ref}' is ambiguous: ${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', ...' : ''}`);
    return matches[0];
  })();
  if (pick && (await isFile(path.join(runs, pick, 'run.json')))) return { file: path.join(runs, pick, 'run.json'), dir: path.join(runs, pick) };
  const hint = suggest(ref, ids);
  throw new InputError(`no run '${ref}' in ${runs}${hint ? `; did you mean '${hint}'?` : ids.length ? `; the latest is ${ids.at(-1)}` : ' (no runs yet)'}` +
      '; give a run id, latest, a run folder or a run.json file');
}

/** Reads and checks a run record; a file that is not one is a user error naming it. */
export async function readRunRecord(file: string): Promise<RunRecord> {
  let value: unknown;
  try {
    value = JSON.parse(readUserText(file, 'run record', RECORD_FILE_LIMIT));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: not a readable run record (${(err as Error).message})`);
  }
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema !== RUN_SCHEMA) {
    const newer = typeof schema === 'string' && schema.startsWith('trtpipe.run/');
    throw new InputError(`${file}: ${newer ? `run record schema ${schema} is not readable by this trtpipe (it reads ${RUN_SCHEMA}); upgrade trtpipe` : `not a trtpipe run record (no schema ${RUN_SCHEMA})`}`);
  }
  const r = value as RunRecord;
  if (!Array.isArray(r.cells) || typeof r.stages !== 'object' || typeof r.id !== 'string') throw new InputError(`${file}: run record is incomplete (cells, stages or id missing)`);
  return r;
}
