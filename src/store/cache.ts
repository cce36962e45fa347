/**
 * The stage cache under .trtpipe/cache:
 *   <key>/entry.json        a finished stage's result, with a checksum of itself
 *   objects/<sha[:2]>/<sha> its output artifacts (content-addressed)
 *   <key>.lock              held while one process computes that key
 * Writes are atomic (temporary + rename), so concurrent `trtpipe run`s on one
 * cache see whole entries or none; the per-key lock makes them compute a
 * shared stage once. An entry whose checksum or objects do not match is
 * corrupt: it is removed and the stage runs again.
 */
import { existsSync, readdirSync } from 'node:fs';
import { link, mkdir, rm, stat, copyFile, rename, readdir } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { RECORD_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import { objectsOf } from './stage-result.js';
import { hashFile } from './hash-file.js';
import { writeFileAtomic } from './atomic.js';
import { withFileLock } from './file-lock.js';
import { CorruptEntryError, isSha256, parseCacheEntry, type CacheEntry } from './cache-entry.js';
import type { NodeResult } from './stage-result.js';

export type { CacheEntry } from './cache-entry.js';

const KEY = /^[0-9a-f]{64}$/;

/**
 * A cached object whose bytes no longer hash to its name (a disk or a hand changed it, keeping its
 * size and time): found before it is sent to a runner, removed; the stage that made it runs again.
 */
export class CorruptObjectError extends Error {
  constructor(readonly sha256: string) {
    super(`cache object ${sha256.slice(0, 12)} failed its hash check (corrupted on disk)`);
    this.name = 'CorruptObjectError';
  }
}

export class StageCache {
  readonly objects: string;

  constructor(readonly root: string) {
    this.objects = path.join(root, 'objects');
  }

  entryPath(key: string): string {
    return path.join(this.root, key, 'entry.json');
  }

  /** Where object `sha` lives; a `sha` that is not a content address is a bug upstream (parseCacheEntry checks them). */
  objectPath(sha: string): string {
    if (!isSha256(sha)) throw new Error(`not a sha256: '${String(sha).slice(0, 80)}'`);
    return path.join(this.objects, sha.slice(0, 2), sha);
  }

  /** The cached result for `key`, or undefined (missing or corrupt, which is then removed). */
  async get(key: string): Promise<CacheEntry | undefined> {
    let entry: CacheEntry;
    try {
      entry = parseCacheEntry(readEntryText(this.entryPath(key)), key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      await this.evict(key);
      return undefined;
    }
    if (!(await this.intact(entry, key, false))) {
      await this.evict(key);
      return undefined;
    }
    return entry;
  }

  /** Checks an entry: its checksum, and that its objects exist (with `deep`, that they hash right). */
  async intact(entry: CacheEntry, key: string, deep: boolean): Promise<boolean> {
    if (entry.key !== key || entry.checksum !== checksumOf(entry)) return false;
    for (const ref of Object.values(entry.result.outputs).flatMap(objectsOf)) {
      const file = this.objectPath(ref.sha256);
      try {
        const st = await stat(file);
        if (st.size !== ref.size) return false;
        const touched = entry.stamps?.[ref.sha256] !== st.mtimeMs;
        if ((deep || touched) && (await hashFile(file)).sha256 !== ref.sha256) {
          await rm(file, { force: true });
          return false;
        }
      } catch {
        return false;
      }
    }
    return true;
  }

  async put(key: string, node: string, stage: string, result: NodeResult): Promise<void> {
    const { cached: _cached, ...rest } = result;
    const stamps: Record<string, number> = {};
    for (const o of Object.values(result.outputs).flatMap(objectsOf)) stamps[o.sha256] = (await stat(this.objectPath(o.sha256))).mtimeMs;
    const body = { key, node, stage, created: new Date().toISOString(), result: rest, stamps };
    const entry: CacheEntry = { ...body, checksum: checksumOf(body as CacheEntry) };
    await writeFileAtomic(this.entryPath(key), `${JSON.stringify(entry)}\n`);
  }

  async evict(key: string): Promise<void> {
    await rm(path.join(this.root, key), { recursive: true, force: true });
  }

  /** Removes every entry that lists object `sha` (its stage then runs again), and the object. */
  async evictUsersOf(sha: string): Promise<void> {
    for (const key of this.keys()) {
      const e = await this.readEntry(key);
      if (
        e &&
        Object.values(e.result.outputs)
          .flatMap(objectsOf)
          .some((o) => o.sha256 === sha)
      )
        await this.evict(key);
    }
    await rm(this.objectPath(sha), { force: true });
  }

  /** True when the object exists and its bytes hash to its name. */
  async objectMatches(sha: string): Promise<boolean> {
    try {
      return (await hashFile(this.objectPath(sha))).sha256 === sha;
    } catch {
      return false;
    }
  }

  hasObject(sha: string): boolean {
    return existsSync(this.objectPath(sha));
  }

  /**
   * Adds a file to the object store by hard link (same file system) or copy,
   * verifying its hash first.
   */
  async importObject(sha: string, source: string): Promise<void> {
    const dest = this.objectPath(sha);
    if (existsSync(dest)) return;
    if ((await hashFile(source)).sha256 !== sha) throw new Error(`object ${sha} does not match its bytes (${source})`);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.${Date.now()}.tmp`;
    try {
      await link(source, tmp);
    } catch {
      await copyFile(source, tmp);
    }
    await rename(tmp, dest);
  }

  /**
   * Holds the per-key lock while `work` runs. If another live process holds
   * it, waits for it to finish and returns undefined (the caller then reads
   * the entry it wrote). Locks of dead processes are taken over.
   */
  async withKeyLock<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
    return withFileLock(path.join(this.root, `${key}.lock`), work, signal);
  }

  /** Every entry key in the cache. */
  keys(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root).filter((d) => KEY.test(d) && existsSync(this.entryPath(d)));
  }

  /** The entry of `key`, or why it cannot be used (missing: neither). */
  async inspect(key: string): Promise<{ entry?: CacheEntry; problem?: string }> {
    let text: string;
    try {
      text = readEntryText(this.entryPath(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      return { problem: `unreadable (${(err as Error).message})` };
    }
    try {
      return { entry: parseCacheEntry(text, key) };
    } catch (err) {
      if (err instanceof CorruptEntryError) return { problem: err.reason };
      throw err;
    }
  }

  /** The entry of `key` if it exists and is well formed (cache-entry.ts), else undefined. */
  async readEntry(key: string): Promise<CacheEntry | undefined> {
    try {
      return parseCacheEntry(readEntryText(this.entryPath(key)), key);
    } catch (err) {
      if (err instanceof CorruptEntryError || (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Objects no entry refers to (left by evictions or prunes). */
  async orphanObjects(): Promise<string[]> {
    const used = new Set<string>();
    for (const key of this.keys()) {
      const e = await this.readEntry(key);
      for (const ref of Object.values(e?.result.outputs ?? {}).flatMap(objectsOf)) used.add(ref.sha256);
    }
    const out: string[] = [];
    if (!existsSync(this.objects)) return out;
    for (const dir of await readdir(this.objects)) {
      for (const f of await readdir(path.join(this.objects, dir))) {
        if (/^[0-9a-f]{64}$/.test(f) && !used.has(f)) out.push(f);
      }
    }
    return out;
  }
}

function checksumOf(e: Pick<CacheEntry, 'key' | 'node' | 'stage' | 'created' | 'result' | 'stamps'>): string {
  return sha256Hex(canonicalJson({ key: e.key, node: e.node, stage: e.stage, created: e.created, result: e.result, stamps: e.stamps }));
}

/** An entry.json's text: never blocks on a planted FIFO (user-files.ts); a non-regular file is corrupt. */
function readEntryText(file: string): string {
  try {
    return readUserText(file, 'cache entry', RECORD_FILE_LIMIT);
  } catch (err) {
    if (err instanceof InputError) {
      if (/ not found: /.test(err.message)) throw Object.assign(new Error(err.message), { code: 'ENOENT' });
      throw new CorruptEntryError(err.message.replace(/^cache entry \S+ /, ''));
    }
    throw err;
  }
}
