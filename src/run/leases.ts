/**
 * Device leases as the orchestrator sees them (proto DeviceLease): a stage's
 * hold on one device of a runner's host, shared while it works, exclusive
 * while a benchmark times on it. The runner enforces them (host-wide, across
 * runner processes: runner-py/trtpipe_runner/lease); the orchestrator records
 * them in run.json and shows the waits.
 */
import { LeaseMode, type DeviceLease } from '../gen/trtpipe/runner/v1/runner.js';

export interface LeaseRecord {
  /** `cpu@<host>` (the host's CPU cores) or `gpu:<uuid>@<host>`. */
  device: string;
  mode: 'shared' | 'exclusive';
  /** The stage that held it, e.g. `benchmark@fp32-cpu`. */
  holder: string;
  /** Seconds since the epoch on the runner's clock; 0: not yet. */
  requestedAt: number;
  acquiredAt: number;
  releasedAt: number;
  /** false: the runner ran with TRTPIPE_DEVICE_LEASE=off, nothing was excluded. */
  enforced: boolean;
  /** Who held or queued for the device when this lease had to wait. */
  waitedFor: string[];
}

export function leaseRecord(l: DeviceLease): LeaseRecord {
  return {
    device: l.device,
    mode: l.mode === LeaseMode.LEASE_MODE_EXCLUSIVE ? 'exclusive' : 'shared',
    holder: l.holder,
    requestedAt: l.requestedAt,
    acquiredAt: l.acquiredAt,
    releasedAt: l.releasedAt,
    enforced: l.enforced,
    waitedFor: l.waitedFor,
  };
}

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
