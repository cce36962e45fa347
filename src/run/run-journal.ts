/**
 * The run record while a run is under way: written when the run starts (status `running`, every
 * stage `not-run`), rewritten as stages finish, and marked with how the run stopped when it ends
 * early, so that runs/<id>/run.json always says how far a run got (docs/architecture.md,
 * "The run record"). Writes are chained, never concurrent; a failed progress write is not fatal
 * (the final record is written again at the end).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorKind } from '../errors.js';
import { classifyError, TrtpipeError } from '../errors.js';
import type { RunRecord, StageRecord } from '../gen/schema/run-record.js';
import type { StageNode } from '../plan/graph.js';
import { startRunDir, writeRunJson, writeRunJsonSync } from '../store/run-record.js';

export class RunJournal {
  private chain: Promise<void> = Promise.resolve();
  /** No more progress writes: the run is being completed. */
  private closed = false;
  /** The record says how the run ended: nothing more is written. */
  private ended = false;

  private constructor(
    readonly runDir: string,
    private readonly record: RunRecord,
  ) {}

  /** Writes the starting record (`base` with status running and every node not-run) to runs/<id>/. */
  static async start(runsDir: string, base: Omit<RunRecord, 'status' | 'stages' | 'cells'>, nodes: StageNode[]): Promise<RunJournal> {
    const stages: Record<string, StageRecord> = {};
    for (const n of nodes) stages[n.id] = { stage: n.stage, target: n.target, cells: n.cells, status: 'not-run', params: {} };
    const record: RunRecord = { ...base, status: 'running', cells: [], stages };
    return new RunJournal(await startRunDir(runsDir, record), record);
  }

  /** A stage finished (done, failed or skipped): the record on disk says so soon after. */
  stage(node: string, status: StageRecord['status'], cached?: boolean): void {
    const s = this.record.stages[node];
    if (!s || this.closed) return;
    s.status = status;
    if (cached !== undefined) s.cached = cached;
    this.save();
  }

  /**
   * The run stopped early: the record (the full one when it was already made, `final`) keeps how
   * far it got and why. Never throws: the cause is what the user needs to see.
   */
  async stop(err: unknown, aborted: boolean, final?: RunRecord): Promise<void> {
    if (this.ended) return;
    this.ended = this.closed = true;
    const record = final ?? this.record;
    Object.assign(record, this.stopFields(err, aborted));
    await this.chain;
    // Reports cut short by a full disk are half-written: removed, which also makes room for the record.
    if (record.error?.kind === 'storage') await removeAllBut(this.runDir, 'run.json');
    await writeRunJson(this.runDir, record).catch(() => undefined);
  }

  /** The same, synchronously, for a process that exits now (a second Ctrl-C). */
  stopSync(err: unknown): void {
    if (this.ended) return;
    this.ended = this.closed = true;
    Object.assign(this.record, this.stopFields(err, true));
    try {
      writeRunJsonSync(this.runDir, this.record);
    } catch {
      // Exiting anyway: the last progress record stays.
    }
  }

  /** The run ends normally: the final record replaces this one (run-record.ts completeRunDir). */
  async finish(): Promise<void> {
    this.closed = true;
    await this.chain;
  }

  private stopFields(err: unknown, aborted: boolean): Pick<RunRecord, 'status' | 'finished' | 'error'> {
    const e = classifyError(err);
    const kind: ErrorKind = e instanceof TrtpipeError ? e.kind : aborted ? 'interrupted' : 'internal';
    const message = e instanceof Error ? e.message : String(e);
    return {
      status: aborted || kind === 'interrupted' ? 'interrupted' : 'failed',
      finished: new Date().toISOString(),
      error: { kind, message },
    };
  }

  private save(): void {
    const snapshot = JSON.parse(JSON.stringify(this.record)) as RunRecord;
    this.chain = this.chain.then(() => (this.closed ? undefined : writeRunJson(this.runDir, snapshot).catch(() => undefined)));
  }
}

async function removeAllBut(dir: string, keep: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n !== keep).map((n) => rm(path.join(dir, n), { recursive: true, force: true })));
}
