/**
 * Whether a stage result is in the cache, read-only. The cache layout is
 * `<state-dir>/cache/<key>/entry.json`, each entry written whole (a folder
 * renamed into place), so an existing entry.json means a complete entry.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export function cacheDir(stateRoot: string): string {
  return path.join(stateRoot, 'cache');
}

export function isCached(stateRoot: string, key: string): boolean {
  return existsSync(path.join(cacheDir(stateRoot), key, 'entry.json'));
}
