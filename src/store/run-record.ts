/**
 * The run record (run.json, schema `trtpipe.run/1`) and the run folder it is
 * written to, together with metrics.json and report.md, atomically.
 */
import path from 'node:path';
import type { RunComparison } from '../report/compare.js';
import type { GateReport } from '../report/gates.js';
import type { CellSummary } from '../report/summary.js';
import type { LeaseRecord } from '../run/leases.js';
import type { RunProvenance } from './provenance.js';
import { writeDirAtomic, writeFileAtomic } from './atomic.js';

export const RUN_SCHEMA = 'trtpipe.run/1';

export interface StageRecord {
  stage: string;
  target: string;
  cells: string[];
  key?: string;
  status: 'done' | 'failed' | 'skipped' | 'not-run';
  cached?: boolean;
  seconds?: number;
  runner?: string;
  params: Record<string, unknown>;
  metrics?: Record<string, number>;
  details?: Record<string, unknown>;
  diagnostics?: unknown[];
  outputs?: Record<string, { sha256: string; size: number; mediaType: string }>;
  error?: { message: string; code: string; node?: string; traceback?: string };
  reason?: string;
  /** Device leases held on the runner's host (run/leases.ts); a benchmark's timing windows are in details.timing. */
  leases?: LeaseRecord[];
}

export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  id: string;
  status: 'ok' | 'failed' | 'interrupted';
  started: string;
  finished: string;
  trtpipe: { version: string };
  pipeline: { name: string; file: string; sha256: string };
  inputs: Record<string, { path: string; sha256: string; size: number }>;
  runners: Record<string, {
    address: string; local: boolean; runnerVersion: string; hostname: string; backends: unknown[]; gpus: unknown[]; versions: Record<string, string>;
    /** A target of several runners (one per GPU, a pool): each runner's own GPUs, by address (`local:gpu1`). */
    gpusByRunner?: Record<string, unknown[]>;
  }>;
  timings: { runnerStartSeconds: number; uploadSeconds: number; totalSeconds: number };
  cells: CellSummary[];
  stages: Record<string, StageRecord>;
  // Added without a schema bump (readers treat them as optional; see docs/decisions.md):
  /** Versions, platform and the pipeline's git commit; per-cell provenance is in cells[].provenance. */
  provenance?: RunProvenance;
  /** The comparison with the baseline of `trtpipe run --baseline`, kept so reports re-render without it. */
  comparison?: RunComparison;
  /** Gate results; a failed gate makes `trtpipe run` exit with code 4. */
  gates?: GateReport;
}

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
