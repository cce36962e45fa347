import type { LeaseRecord, RunRecord } from '../gen/schema/run-record.js';
/**
 * The timing windows of a run's benchmarks, and whether any other stage of
 * the run held the measured device during one: the record's own evidence
 * that its latencies were measured on a device nothing else used. Runners
 * enforce it with device leases (run/leases.ts); this reads what they
 * recorded, so a report can say so, and a test can prove it.
 */

/** One timing loop (warm-up included) of one batch size and repeat. Times: epoch seconds, runner clock. */
export interface TimingWindow {
  node: string;
  device: string;
  batch: number;
  repeat: number;
  start: number;
  end: number;
  /** The runner enforced the lease (false: TRTPIPE_DEVICE_LEASE=off). */
  enforced: boolean;
}

export interface TimingOverlap {
  window: TimingWindow;
  /** The stage that held the device meanwhile, and how. */
  other: string;
  lease: LeaseRecord;
}

interface BenchmarkDetails {
  timing?: { batch: number; repeat: number; warmup_started_at: number; ended_at: number }[];
  lease?: { device: string; enforced: boolean };
}

/** Timing windows of the benchmarks measured in this run (cached ones were measured in another run). */
export function timingWindows(record: RunRecord): TimingWindow[] {
  const out: TimingWindow[] = [];
  for (const [node, s] of Object.entries(record.stages)) {
    if (s.stage !== 'benchmark' || s.status !== 'done' || s.cached) continue;
    const d = s.details as BenchmarkDetails | undefined;
    if (!d?.timing || !d.lease) continue;
    for (const w of d.timing) {
      out.push({ node, device: d.lease.device, batch: w.batch, repeat: w.repeat, start: w.warmup_started_at, end: w.ended_at, enforced: d.lease.enforced });
    }
  }
  return out;
}

/** Every lease of another stage of this run that overlapped a timing window on the same device. */
export function timingOverlaps(record: RunRecord): TimingOverlap[] {
  const windows = timingWindows(record);
  const out: TimingOverlap[] = [];
  for (const [node, s] of Object.entries(record.stages)) {
    if (s.cached || !s.leases) continue;
    for (const lease of s.leases) {
      for (const w of windows) {
        if (w.node === node || w.device !== lease.device || !lease.acquiredAt) continue;
        const released = lease.releasedAt || Number.POSITIVE_INFINITY;
        if (lease.acquiredAt < w.end && released > w.start) out.push({ window: w, other: node, lease });
      }
    }
  }
  return out;
}
