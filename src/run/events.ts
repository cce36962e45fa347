/** What the scheduler reports while it works; renderers subscribe to these. */
import type { LeaseRecord } from '../gen/schema/run-record.js';
import type { NodeFailure, NodeResult } from '../store/stage-result.js';

export type SchedulerEvent =
  | { type: 'upload'; target: string; file: string; bytes: number; skipped: boolean; seconds: number }
  /** Its inputs are on `runner` (moving them took `inputSeconds`, after it got the slot): RunStage is called. */
  | { type: 'stage-start'; node: string; runner: string; inputSeconds: number }
  /** RunStage returned its result after `seconds` (client wall: the runner's own stage time plus one round trip). */
  | { type: 'stage-returned'; node: string; seconds: number }
  | { type: 'stage-progress'; node: string; fraction: number; message: string }
  | { type: 'stage-log'; node: string; level: string; message: string }
  /** A device lease started waiting (acquiredAt 0) or was granted after waiting. */
  | { type: 'stage-lease'; node: string; lease: LeaseRecord }
  | { type: 'stage-done'; node: string; result: NodeResult }
  | { type: 'stage-failed'; node: string; failure: NodeFailure }
  | { type: 'stage-skipped'; node: string; reason: string };
