/**
 * A stage node's outcome as the orchestrator keeps it: what the scheduler produces, the cache
 * stores and the reports read (a run record's stages hold the same, run.schema.json StageRecord).
 */
import type { LeaseRecord } from '../gen/schema/run-record.js';

/** A content-addressed blob (sha256, verified by whoever receives it). */
export interface ArtifactRef {
  sha256: string;
  size: number;
  mediaType: string;
}

export interface StageDiagnostic {
  level: 'debug' | 'info' | 'warning' | 'error';
  code: string;
  message: string;
  node?: string;
}

/** A stage output; a manifest (a model with external data) lists the artifacts it names in `parts`. */
export interface OutputRef extends ArtifactRef {
  parts?: ArtifactRef[];
}

/** An output and every artifact it names: what travels, is cached and is kept with it. */
export function objectsOf(o: OutputRef): ArtifactRef[] {
  return [...(o.parts ?? []), o];
}

/** The outcome of one stage node. */
export interface NodeResult {
  outputs: Record<string, OutputRef>;
  metrics: Record<string, number>;
  details: Record<string, unknown>;
  diagnostics: StageDiagnostic[];
  /** Seconds the stage took on the runner. */
  seconds: number;
  /** The runner address that produced it. */
  runner: string;
  cached: boolean;
  /** The device leases the stage held on the runner's host (absent from older cache entries). */
  leases?: LeaseRecord[];
}

export interface NodeFailure {
  message: string;
  /** Stable code from the runner (e.g. DATA_SHAPE_MISMATCH) or a client-side one. */
  code: string;
  /** User error (bad input) vs. outage/bug. */
  user: boolean;
  /** Runner unreachable or gone. */
  unavailable: boolean;
  node?: string;
  traceback?: string;
}
