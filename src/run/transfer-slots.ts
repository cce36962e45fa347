/**
 * How many artifact streams this orchestrator keeps open to one runner, and what it does when a
 * runner says it has too many. A runner caps the transfers one client host may have open (8 by
 * default, `trtpipe-runner serve --max-transfers-per-client`) and refuses the rest at once with
 * TOO_MANY_TRANSFERS rather than queue them (runner-py/trtpipe_runner/transfers.py). So the mover
 * keeps to fewer than that per runner, and a refusal (other runs from this host share the cap) is
 * retried after a pause that doubles, until the run is cancelled or the pauses add up to a minute.
 */
import { RunnerCallError } from '../runner-client/runner-call-error.js';

/** Under the runner's default per-client cap of 8, leaving room for a second run from this host. */
export const TRANSFERS_PER_RUNNER = 4;
const FIRST_PAUSE_MS = 100;
const MAX_WAIT_MS = 60_000;

export class TransferSlots {
  private readonly open = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    private readonly perRunner = TRANSFERS_PER_RUNNER,
    private readonly pause: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
  ) {}

  /** Runs `transfer` once a slot of `runner` is free; retries it while the runner says it is busy. */
  async run<T>(runner: string, transfer: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(runner);
    try {
      for (let waited = 0, pause = FIRST_PAUSE_MS; ; pause *= 2) {
        try {
          return await transfer();
        } catch (err) {
          if (!(err instanceof RunnerCallError && err.isBusy) || waited >= MAX_WAIT_MS || signal?.aborted) throw err;
          await this.pause(pause, signal);
          waited += pause;
        }
      }
    } finally {
      this.release(runner);
    }
  }

  private acquire(runner: string): Promise<void> {
    const n = this.open.get(runner) ?? 0;
    if (n < this.perRunner) {
      this.open.set(runner, n + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(runner) ?? [];
      queue.push(resolve); // the slot passes straight to it: `open` stays as it is
      this.waiting.set(runner, queue);
    });
  }

  private release(runner: string): void {
    const next = this.waiting.get(runner)?.shift();
    if (next) next();
    else this.open.set(runner, (this.open.get(runner) ?? 1) - 1);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
