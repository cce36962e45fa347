/**
 * Runner slots, handed out in plan order: each node that may need a runner takes a ticket for
 * its target, and only the oldest ticket of a target may take a free slot (on the least busy
 * alive member, at most `perRunner` stages per runner process: its slots are shared by every
 * target that lists it, pool.ts RunnerLoad). So stages start in plan order (evaluate
 * before benchmark) however long their cache lookups take; a retry keeps its place at the front.
 */
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import type { RunnerHandle, RunnerPool } from './pool.js';

/** Thrown by `acquire` for a stage that must not start: another stage failed (--on-error fail). */
export const NOT_STARTED = Symbol('not started');

export class SlotQueue {
  private nextTicket = 0;
  private readonly tickets = new Map<string, Set<number>>();
  private waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly pool: RunnerPool,
    private readonly perRunner: number,
    private readonly signal: AbortSignal,
  ) {}

  /** A new ticket for a node of `target`, behind every earlier one. */
  ticket(target: string): number {
    const t = this.nextTicket++;
    this.requeue(target, t);
    return t;
  }

  /** Puts a ticket back in line (a retry: its number keeps it at the front). */
  requeue(target: string, ticket: number): void {
    if (!this.tickets.has(target)) this.tickets.set(target, new Set());
    this.tickets.get(target)!.add(ticket);
  }

  /** Leaves the line (a cache hit needs no runner; a node that ended). */
  drop(target: string, ticket: number): void {
    if (this.tickets.get(target)?.delete(ticket)) this.wake();
  }

  /** No stage starts from now on: waiting and later acquires throw NOT_STARTED. */
  stop(): void {
    this.stopped = true;
    this.wake();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * A runner of the target's pool with a free slot, once every older ticket has one: the least
   * busy, and of those the one `held` scores highest (the bytes of the stage's inputs it already
   * holds, so an output is used where it was made instead of travelling between runners).
   */
  async acquire(target: string, ticket: number, held: (h: RunnerHandle) => number = () => 0): Promise<RunnerHandle> {
    await this.pool.start(target);
    for (;;) {
      if (this.signal.aborted) throw RunnerCallError.cancelled('RunStage', 'interrupted');
      if (this.stopped) throw NOT_STARTED;
      const alive = this.pool.members(target);
      if (!alive.length) throw RunnerCallError.unavailable('RunStage', `no runner of target '${target}' is left`);
      const oldest = Math.min(...(this.tickets.get(target) ?? new Set([ticket])));
      const free = alive.filter((h) => h.load.busy < this.perRunner).sort((a, b) => a.load.busy - b.load.busy || held(b) - held(a))[0];
      if (free && ticket <= oldest) {
        free.load.busy += 1;
        this.drop(target, ticket);
        return free;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  release(h: RunnerHandle): void {
    h.load.busy -= 1;
    this.wake();
  }

  /** Something changed (a slot, a ticket, a runner lost): waiters look again. */
  wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }
}
