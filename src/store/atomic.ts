/**
 * Atomic writes: readers see the old content or the new, never a part. Files
 * go through a temporary sibling and rename(2); directories are assembled
 * under a temporary name and renamed into place when complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    // A write cut short by a full disk leaves nothing behind (and frees what it took).
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Builds a directory with `fill(tmpDir)` and renames it to `dest` only if
 * `fill` succeeds; a failure leaves nothing behind.
 */
export async function writeDirAtomic(dest: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(dest);
  await mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  await mkdir(tmp);
  try {
    await fill(tmp);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
