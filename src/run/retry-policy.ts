/**
 * When a stage's call fails, was its runner lost (retry the stage, on another member when this
 * one is gone) or did the stage fail (report it)? Only a transport failure can mean a lost runner:
 * the local runner is lost when its process exited; a remote one is given health checks with
 * backoff (a flaky network, a restart) before it is dropped from its pool.
 */
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import type { RunnerHandle, RunnerPool } from './pool.js';

export interface RetryPolicy {
  /** Attempts after the first when a runner is lost. */
  retries: number;
  /** Health checks of a remote runner before it counts as gone. */
  healthChecks: number;
  /** Milliseconds before health check `i` (0-based). */
  backoffMs(i: number): number;
  /** Deadline of one health check. */
  healthTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 2, healthChecks: 3, backoffMs: (i) => 500 * 2 ** i, healthTimeoutMs: 2000 };

/**
 * True when `err` means `h` was lost: the caller may retry the stage. A remote runner that
 * answers its health check again counts as restarted (`onRestart`: it may have lost its store);
 * one that does not is marked dead.
 */
export async function runnerLost(
  err: unknown,
  h: RunnerHandle,
  pool: RunnerPool,
  policy: RetryPolicy,
  onRestart: (h: RunnerHandle) => void,
): Promise<boolean> {
  if (!(err instanceof RunnerCallError) || !err.isTransport) return false;
  if (h.local) {
    await pool.waitLocalExit(500, h.address);
    if (pool.localExit(h.address)) h.alive = false;
    return true;
  }
  for (let i = 0; i < policy.healthChecks; i++) {
    await new Promise((r) => setTimeout(r, policy.backoffMs(i)));
    if (await h.client.healthy({ timeoutMs: policy.healthTimeoutMs }).catch(() => false)) {
      onRestart(h);
      return true;
    }
  }
  h.alive = false;
  return true;
}
