/** What the scheduler reports while it works; renderers subscribe to these. */
import type { ArtifactRef } from '../gen/trtpipe/runner/v1/runner.js';
import type { LeaseRecord } from './leases.js';

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

export type SchedulerEvent =
  | { type: 'upload'; target: string; file: string; bytes: number; skipped: boolean; seconds: number }
  | { type: 'stage-start'; node: string }
  | { type: 'stage-progress'; node: string; fraction: number; message: string }
  | { type: 'stage-log'; node: string; level: string; message: string }
  /** A device lease started waiting (acquiredAt 0) or was granted after waiting. */
  | { type: 'stage-lease'; node: string; lease: LeaseRecord }
  | { type: 'stage-done'; node: string; result: NodeResult }
  | { type: 'stage-failed'; node: string; failure: NodeFailure }
  | { type: 'stage-skipped'; node: string; reason: string };
