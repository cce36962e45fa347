/**
 * Getting artifacts to the runner that needs them: user files are uploaded
 * once per runner; stage outputs come from the local object store (the
 * cache's objects), fetched there from the producing runner when needed (a
 * hard link for the local runner, a download for remote ones). The local
 * runner takes files by path (it copies them into its store itself); remote
 * runners get them streamed. A manifest goes after the files it names.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CorruptObjectError, type StageCache } from '../store/cache.js';
import type { SchedulerEvent } from './events.js';
import type { ArtifactRef, OutputRef } from '../store/stage-result.js';
import type { RunnerHandle } from './pool.js';
import { TransferSlots } from './transfer-slots.js';

/** Up to this size a remote runner gets a file without being asked first (one 1 MiB PutArtifact chunk). */
const DIRECT_PUT_BYTES = 1 << 20;

export interface FileArtifact {
  path: string;
  sha256: string;
  size: number;
  mediaType: string;
  /** Artifacts this one refers to (a data manifest's files): uploaded with it. */
  dependencies?: FileArtifact[];
}

export class ArtifactMover {
  private readonly inflight = new Map<string, Promise<void>>();
  /** Streams open per runner, under the runner's cap (transfer-slots.ts). */
  private readonly slots = new TransferSlots();

  constructor(
    private readonly cache: StageCache,
    private readonly onEvent: (e: SchedulerEvent) => void,
    private readonly signal: AbortSignal,
  ) {}

  /** Uploads a user file (and what it refers to) to `h` unless it holds it. */
  ensureFile(h: RunnerHandle, file: FileArtifact): Promise<void> {
    return this.once(h, file.sha256, async () => {
      await Promise.all((file.dependencies ?? []).map((d) => this.ensureFile(h, d)));
      const t0 = performance.now();
      const present = await this.place(h, file.path, refOf(file));
      this.onEvent({
        type: 'upload',
        target: h.target,
        file: file.path,
        bytes: file.size,
        skipped: present,
        seconds: (performance.now() - t0) / 1000,
      });
    });
  }

  /** Makes a stage output (and the files it names) present on `h`, fetching from `producer` what no local copy has. */
  async ensureOutput(h: RunnerHandle, output: OutputRef, producer: RunnerHandle | undefined): Promise<void> {
    await Promise.all((output.parts ?? []).map((p) => this.ensureObject(h, p, producer)));
    await this.ensureObject(h, output, producer);
  }

  private ensureObject(h: RunnerHandle, ref: ArtifactRef, producer: RunnerHandle | undefined): Promise<void> {
    return this.once(h, ref.sha256, async () => {
      // Asked first unless it is here and small: that may save fetching it from its producer, or
      // hashing a large object before it travels.
      const here = this.cache.hasObject(ref.sha256);
      const ask = !here || ref.size > DIRECT_PUT_BYTES;
      if (ask && (await h.client.hasArtifacts([ref.sha256], { signal: this.signal })).has(ref.sha256)) return;
      if (!here) {
        if (!producer?.alive) throw new Error(`artifact ${ref.sha256.slice(0, 12)} is only on a runner that is gone`);
        await this.fetch(producer, ref);
      } else if (!(await this.cache.objectMatches(ref.sha256))) {
        // A cache hit checks sizes and times only; bytes are checked before they travel, so a
        // corrupted object is named as such here rather than as an upload "corrupted in transit".
        await this.cache.evictUsersOf(ref.sha256);
        throw new CorruptObjectError(ref.sha256);
      }
      await this.send(h, this.cache.objectPath(ref.sha256), { sha256: ref.sha256, size: ref.size, mediaType: ref.mediaType });
    });
  }

  /**
   * Makes a user file present on `h`; whether it already held it. Sent without asking HasArtifacts
   * first where that costs no more than the question (one round trip instead of two): the local
   * runner takes files by path and checks its store first, and a file of one chunk costs a remote
   * runner no more to receive (and drop, when it has it).
   */
  private async place(h: RunnerHandle, file: string, ref: ArtifactRef): Promise<boolean> {
    const ask = !h.local && ref.size > DIRECT_PUT_BYTES;
    if (ask && (await h.client.hasArtifacts([ref.sha256], { signal: this.signal })).has(ref.sha256)) return true;
    return this.send(h, file, ref);
  }

  /** By path to the local runner, streamed to a remote one; whether it already had it. */
  private send(h: RunnerHandle, file: string, ref: ArtifactRef): Promise<boolean> {
    if (h.local) return h.client.importArtifact(file, ref, { signal: this.signal });
    return this.slots.run(h.address, () => h.client.putArtifact(file, ref, { signal: this.signal }), this.signal);
  }

  /** Copies a runner's output into the local object store (link for the local runner). */
  async fetch(from: RunnerHandle, ref: ArtifactRef): Promise<void> {
    if (this.cache.hasObject(ref.sha256)) return;
    if (from.storeDir) {
      const source = path.join(from.storeDir, 'objects', ref.sha256.slice(0, 2), ref.sha256);
      if (existsSync(source)) {
        await this.cache.importObject(ref.sha256, source);
        return;
      }
    }
    await this.slots.run(
      from.address,
      () => from.client.getArtifact(ref.sha256, this.cache.objectPath(ref.sha256), { signal: this.signal }),
      this.signal,
    );
  }

  /** Forgets what a runner holds (it restarted or was replaced). */
  forget(h: RunnerHandle): void {
    h.has.clear();
    for (const k of [...this.inflight.keys()]) if (k.startsWith(`${h.address}|`)) this.inflight.delete(k);
  }

  private once(h: RunnerHandle, sha: string, work: () => Promise<void>): Promise<void> {
    if (h.has.has(sha)) return Promise.resolve();
    const key = `${h.address}|${sha}`;
    if (!this.inflight.has(key)) {
      const p = work().then(
        () => void h.has.add(sha),
        (err) => {
          this.inflight.delete(key);
          throw err;
        },
      );
      this.inflight.set(key, p);
    }
    return this.inflight.get(key)!;
  }
}

export function refOf(f: FileArtifact): ArtifactRef {
  return { sha256: f.sha256, size: f.size, mediaType: f.mediaType };
}
