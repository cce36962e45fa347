/**
 * A stage run as the rest of trtpipe sees it: the runner client turns RunStage's protobuf
 * messages into these (and only it knows the protobuf), so the scheduler handles plain data.
 */
import type { LeaseRecord } from '../gen/schema/run-record.js';
import { LeaseMode, LogLevel, type DeviceLease, type StageResult } from '../gen/trtpipe/runner/v1/runner.js';
import type { ArtifactRef, OutputRef, StageDiagnostic } from '../store/stage-result.js';

export interface StageRunRequest {
  stage: string;
  /** The cells the node serves, for the runner's logs and lease holder names. */
  cell: string;
  inputs: Record<string, ArtifactRef>;
  /** The stage's params (proto/trtpipe/runner/v1/contract/stages/<stage>.schema.json), sent as JSON. */
  params: unknown;
}

/** What a running stage streams before its result; `heartbeat` only says it is still running. */
export type StageEvent =
  | { kind: 'progress'; fraction: number; message: string }
  | { kind: 'log'; level: StageDiagnostic['level']; message: string }
  | { kind: 'heartbeat'; elapsedSeconds: number }
  | { kind: 'lease'; lease: LeaseRecord };

/** A stage's result: outputs (a manifest with the files it names), metrics, details, diagnostics, leases. */
export interface StageRunResult {
  outputs: Record<string, OutputRef>;
  metrics: Record<string, number>;
  details: Record<string, unknown>;
  diagnostics: StageDiagnostic[];
  /** Seconds the stage took on the runner. */
  seconds: number;
  leases: LeaseRecord[];
}

const LEVELS: Record<number, StageDiagnostic['level']> = {
  [LogLevel.LOG_LEVEL_DEBUG]: 'debug',
  [LogLevel.LOG_LEVEL_INFO]: 'info',
  [LogLevel.LOG_LEVEL_WARNING]: 'warning',
  [LogLevel.LOG_LEVEL_ERROR]: 'error',
};

export function levelName(level: LogLevel): StageDiagnostic['level'] {
  return LEVELS[level] ?? 'info';
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

export function stageRunResult(res: StageResult): StageRunResult {
  const parts = res.outputParts;
  return {
    outputs: Object.fromEntries(
      Object.entries(res.outputs).map(([k, o]) => [k, parts[k]?.parts.length ? { ...o, parts: parts[k]!.parts } : o]),
    ),
    metrics: res.metrics,
    details: res.detailsJson ? (JSON.parse(res.detailsJson) as Record<string, unknown>) : {},
    diagnostics: res.diagnostics.map((d) => ({
      level: levelName(d.level),
      code: d.code,
      message: d.message,
      ...(d.node ? { node: d.node } : {}),
    })),
    seconds: res.seconds,
    leases: res.leases.map(leaseRecord),
  };
}
