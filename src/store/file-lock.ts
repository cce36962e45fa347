/**
 * A lock between processes on one host: a file created with O_EXCL holding
 * the owner's pid. Locks of dead processes are taken over, so a killed
 * trtpipe never blocks the next one.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Holds `lockFile` while `work` runs. If another live process holds it, waits
 * for it to finish and returns undefined (the caller then reads what that
 * process made).
 */
export async function withFileLock<T>(lockFile: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  // The lock appears with its owner's pid already in it (a hard link of a written file): a lock
  // created empty and filled afterwards looked ownerless to a process reading it in between, which
  // took it over, and two runs computed one stage (the concurrent e2e test caught it).
  const mine = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(mine, String(process.pid));
  try {
    for (;;) {
      try {
        await link(mine, lockFile);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')) || NaN);
        if (!Number.isFinite(owner) || !alive(owner)) {
          await unlink(lockFile).catch(() => undefined);
          continue;
        }
        if (signal?.aborted) return undefined;
        await new Promise((r) => setTimeout(r, 100));
        if (!existsSync(lockFile)) return undefined;
      }
    }
  } finally {
    await unlink(mine).catch(() => undefined);
  }
  try {
    return await work();
  } finally {
    await unlink(lockFile).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
