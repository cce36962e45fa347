/**
 * The scheduler's view of runners: a pool per target whose members have slots. The real pool
 * (runner-pool.ts, PipelineRunnerPool) spawns the local runner and connects remote ones; the
 * scheduler's tests drive a fake one. Nothing here knows gRPC: a member's calls are the runner
 * client's domain calls (runner-client/runner-client.ts implements RunnerCalls).
 */
import type { CallOpts } from '../runner-client/call-options.js';
import type { RunnerCapabilities } from '../runner-client/capabilities.js';
import type { StageEvent, StageRunRequest, StageRunResult } from '../runner-client/stage-run.js';
import type { ArtifactRef } from '../store/stage-result.js';

/** What the scheduler and the artifact mover call on a runner. */
export interface RunnerCalls {
  runStage(req: StageRunRequest, onEvent: (e: StageEvent) => void, opts?: CallOpts): Promise<StageRunResult>;
  healthy(opts?: CallOpts): Promise<boolean>;
  hasArtifacts(sha256s: string[], opts?: CallOpts): Promise<Set<string>>;
  putArtifact(file: string, ref: ArtifactRef, opts?: CallOpts): Promise<boolean>;
  importArtifact(file: string, ref: ArtifactRef, opts?: CallOpts): Promise<boolean>;
  getArtifact(sha256: string, dest: string, opts?: CallOpts): Promise<ArtifactRef>;
  close(): void;
}

/** One runner of a target's pool. */
export interface RunnerHandle {
  /** `local`, `local:gpu<N>` (a runner pinned to GPU N) or host:port. */
  address: string;
  target: string;
  client: RunnerCalls;
  local: boolean;
  capabilities: RunnerCapabilities;
  alive: boolean;
  /** Stages running on this runner process, shared by every target's handle on it (slot-queue.ts). */
  load: RunnerLoad;
  /** Artifacts this runner is known to hold (shared like `load`). */
  has: Set<string>;
  /** The local runner's store folder (its outputs can be linked, not downloaded). */
  storeDir?: string;
}

/**
 * The slots of one runner process. Targets that list the same runner get handles of their own
 * (their own client, token and target name) but one load: counted per handle, two targets on one
 * runner ran two stages on it at once, and four targets of one pool four, while other runners idled.
 */
export interface RunnerLoad {
  /** Slots taken (stages running on the runner, whichever target sent them). */
  busy: number;
}

/** How the local runner process ended. */
export interface LocalExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines it wrote to stderr. */
  tail: string;
}

export interface RunnerPool {
  /** Starts (or connects to) every runner of a target; idempotent. */
  start(target: string): Promise<RunnerHandle[]>;
  /** The alive runners of a started target. */
  members(target: string): RunnerHandle[];
  /**
   * Waits up to `ms` for a local runner to exit (a transport error may arrive before it is
   * reaped): the one at `address` (`local`, `local:gpu1`), or without one any.
   */
  waitLocalExit(ms: number, address?: string): Promise<void>;
  /** Whether a local runner process has exited, and how: the one at `address`, or the first that has. */
  localExit(address?: string): LocalExit | undefined;
}
