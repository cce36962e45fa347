/**
 * A lock between processes on one host: a file created with O_EXCL holding
 * the owner's pid. Locks of dead processes are taken over, so a killed
 * trtpipe never blocks the next one.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Holds `lockFile` while `work` runs. If another live process holds it, waits
 * for it to finish and returns undefined (the caller then reads what that
 * process made).
 */
export async function withFileLock<T>(lockFile: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  await mkdir(path.dirname(lockFile), { recursive: true });
  for (;;) {
    try {
      const fh = await open(lockFile, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
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
