/**
 * Device leases as the orchestrator sees them (run.json's LeaseRecord, which the runner client
 * makes of the proto's DeviceLease): a stage's hold on one device of a runner's host, shared
 * while it works, exclusive while a benchmark times on it. The runner enforces them (host-wide,
 * across runner processes: runner-py/trtpipe_runner/lease); the orchestrator records them in
 * run.json and shows the waits.
 */
import type { LeaseRecord } from '../gen/schema/run-record.js';

/** Seconds the lease waited (0 while it still waits). */
export function leaseWait(l: LeaseRecord): number {
  return l.acquiredAt ? Math.max(0, l.acquiredAt - l.requestedAt) : 0;
}

/** One line for progress output: "waiting for exclusive device cpu@host (held by evaluate@fp16-cpu)". */
export function describeLease(l: LeaseRecord): string {
  const what = `${l.mode === 'exclusive' ? 'exclusive device' : 'device'} ${l.device}`;
  if (!l.acquiredAt) return `waiting for ${what} (held by ${l.waitedFor.join(', ') || 'another process'})`;
  return `got ${what} after ${leaseWait(l).toFixed(1)}s`;
}
