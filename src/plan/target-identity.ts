/**
 * What a target's cache keys say about where a stage ran: backend and its
 * version, runner version, GPUs. One function, used when runners are opened
 * (run/runner-pool.ts) and when `trtpipe plan` rebuilds identities from the
 * last run record, so both compute the same keys.
 */
import type { Target } from '../config/types.js';

/** The part of a runner's capabilities an identity depends on (as in run.json `runners[target]`). */
export interface RunnerFacts {
  runnerVersion: string;
  backends: { name: string; version?: string }[];
  gpus: { name: string; computeCapability: string; driverVersion: string }[];
}

export function targetIdentity(t: Pick<Target, 'backend' | 'numerics'>, facts: RunnerFacts): Record<string, unknown> {
  const backend = facts.backends.find((b) => b.name === t.backend);
  return {
    backend: t.backend,
    backendVersion: backend?.version ?? '',
    runner: facts.runnerVersion,
    gpus: facts.gpus.map((g) => `${g.name}/${g.computeCapability}/${g.driverVersion}`),
    numerics: t.numerics,
  };
}
