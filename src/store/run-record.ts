/**
 * The run record (run.json, schema `trtpipe.run/1`) and the run folder it is
 * written to, together with metrics.json and report.md, atomically. Its type is
 * generated from pipelines/schema/run.schema.json (src/gen/schema/run-record.ts),
 * the leaf that the store and the reports both use.
 */
import path from 'node:path';
import type { RunRecord } from '../gen/schema/run-record.js';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';

export type { RunRecord, StageRecord } from '../gen/schema/run-record.js';

export const RUN_SCHEMA = 'trtpipe.run/1';

/**
 * Writes the run folder as a whole: run.json and metrics.json, then whatever
 * `fill` adds (the reports), in a temporary folder renamed into place at the
 * end, so runs/ never holds a half-written run.
 */
export async function writeRunDir(runsDir: string, record: RunRecord, fill: (dir: string) => Promise<void>): Promise<string> {
  const dest = path.join(runsDir, record.id);
  await writeDirAtomic(dest, async (tmp) => {
    await writeFileAtomic(path.join(tmp, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
    const metrics = Object.fromEntries(record.cells.map((c) => [c.name, { status: c.status, precision: c.precision, target: c.target, accuracy: c.accuracy, latency: c.latency }]));
    await writeFileAtomic(path.join(tmp, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    await fill(tmp);
  });
  return dest;
}
