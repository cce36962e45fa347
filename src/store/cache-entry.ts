/**
 * Reading a cache entry.json: the one place its contents are checked before
 * anything uses them. Every sha256 in it becomes a path under objects/ (and a
 * corrupt object there is deleted), so a planted entry naming `../../x` could
 * otherwise make trtpipe read or delete any file the user can write; a value
 * that is not 64 lowercase hex digits makes the whole entry corrupt.
 */
import type { NodeResult, OutputRef } from './stage-result.js';

export interface CacheEntry {
  key: string;
  node: string;
  stage: string;
  created: string;
  result: Omit<NodeResult, 'cached' | 'runner'> & { runner: string };
  /** Each object's modification time when the entry was written: a changed one is re-hashed. */
  stamps?: Record<string, number>;
  /** sha256 of the canonical JSON of the fields above. */
  checksum: string;
}

/** A content address: 64 lowercase hex digits, nothing else (no separators, no dots). */
export const SHA256 = /^[0-9a-f]{64}$/;

/** An entry.json that cannot be used, with the reason (for `cache verify` and the run's message). */
export class CorruptEntryError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CorruptEntryError';
  }
}

/** True when `sha` is a well-formed content address. */
export function isSha256(sha: unknown): sha is string {
  return typeof sha === 'string' && SHA256.test(sha);
}

/**
 * Parses and checks the text of `<key>/entry.json`.
 * @throws CorruptEntryError naming the first thing wrong
 */
export function parseCacheEntry(text: string, key: string): CacheEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CorruptEntryError(`not JSON (${(err as Error).message})`);
  }
  const e = raw as Partial<CacheEntry> | null;
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw new CorruptEntryError('not a JSON object');
  if (e.key !== key) throw new CorruptEntryError(`its key is not the folder's name ${key.slice(0, 12)}`);
  for (const field of ['node', 'stage', 'created', 'checksum'] as const) {
    if (typeof e[field] !== 'string') throw new CorruptEntryError(`'${field}' is not a string`);
  }
  const result = e.result;
  if (!result || typeof result !== 'object' || !result.outputs || typeof result.outputs !== 'object' || Array.isArray(result.outputs)) {
    throw new CorruptEntryError("'result.outputs' is not an object");
  }
  for (const [name, out] of Object.entries(result.outputs)) checkOutput(name, out);
  if (e.stamps !== undefined) {
    if (!e.stamps || typeof e.stamps !== 'object') throw new CorruptEntryError("'stamps' is not an object");
    for (const [sha, t] of Object.entries(e.stamps)) {
      if (!isSha256(sha) || typeof t !== 'number') throw new CorruptEntryError(`'stamps' holds a bad entry '${sha.slice(0, 80)}'`);
    }
  }
  return e as CacheEntry;
}

function checkOutput(name: string, out: unknown): void {
  const o = out as Partial<OutputRef> | null;
  if (!o || typeof o !== 'object') throw new CorruptEntryError(`output '${name}' is not an object`);
  checkRef(`output '${name}'`, o);
  if (o.parts !== undefined) {
    if (!Array.isArray(o.parts)) throw new CorruptEntryError(`output '${name}': 'parts' is not a list`);
    o.parts.forEach((p, i) => checkRef(`output '${name}' part ${i}`, p as Partial<OutputRef>));
  }
}

function checkRef(where: string, r: Partial<OutputRef> | null): void {
  if (!r || typeof r !== 'object') throw new CorruptEntryError(`${where} is not an object`);
  if (!isSha256(r.sha256)) throw new CorruptEntryError(`${where}: sha256 '${String(r.sha256).slice(0, 80)}' is not 64 hex digits`);
  if (!Number.isSafeInteger(r.size) || r.size! < 0) throw new CorruptEntryError(`${where}: size is not a byte count`);
}
