/**
 * The run record (run.json, schema `trtpipe.run/1`) and its run folder. The record is written
 * first and completed last: `startRunDir` makes runs/<id>/ with a run.json of status `running`
 * before any stage starts (rewritten as stages finish, run/run-journal.ts), and `completeRunDir`
 * writes the reports, then metrics.json, then run.json last. Whatever stops a run (an exception,
 * a full disk, Ctrl-C, a lost runner), run.json exists and says how far it got. Its type is
 * generated from pipelines/schema/run.schema.json (src/gen/schema/run-record.ts).
 */
import { mkdir } from 'node:fs/promises';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../gen/schema/run-record.js';
import { maskEnvValues } from '../config/env-values.js';
import { writeFileAtomic } from './atomic.js';

export type { RunRecord, StageRecord } from '../gen/schema/run-record.js';

export const RUN_SCHEMA = 'trtpipe.run/1' as const;

/** run.json's text, values taken from the environment masked (config/env-values.ts). */
function recordText(record: RunRecord): string {
  return maskEnvValues(`${JSON.stringify(record, null, 2)}\n`);
}

/** Makes runs/<id>/ holding the record as it starts (status `running`); returns the folder. */
export async function startRunDir(runsDir: string, record: RunRecord): Promise<string> {
  const dest = path.join(runsDir, record.id);
  await mkdir(runsDir, { recursive: true });
  await mkdir(dest);
  await writeRunJson(dest, record);
  return dest;
}

/** Replaces run.json in `runDir` atomically. */
export async function writeRunJson(runDir: string, record: RunRecord): Promise<void> {
  await writeFileAtomic(path.join(runDir, 'run.json'), recordText(record));
}

/** The same, synchronously: the last thing a process about to exit (a second Ctrl-C) does. */
export function writeRunJsonSync(runDir: string, record: RunRecord): void {
  const tmp = path.join(runDir, `.run.json.${process.pid}.tmp`);
  writeFileSync(tmp, recordText(record));
  renameSync(tmp, path.join(runDir, 'run.json'));
}

/** Finishes a run folder: whatever `fill` adds (the reports), metrics.json, and run.json last. */
export async function completeRunDir(runDir: string, record: RunRecord, fill: (dir: string) => Promise<void>): Promise<void> {
  await fill(runDir);
  const metrics = Object.fromEntries(record.cells.map((c) => [c.name, { status: c.status, precision: c.precision, target: c.target, accuracy: c.accuracy, latency: c.latency }]));
  await writeFileAtomic(path.join(runDir, 'metrics.json'), maskEnvValues(`${JSON.stringify(metrics, null, 2)}\n`));
  await writeRunJson(runDir, record);
}
