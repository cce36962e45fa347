/**
 * Opening a file whose path the user gave (a pipeline, a base it extends, a model, a data file):
 * it must be a regular file no larger than its limit. A FIFO would block a read forever (and a
 * blocked read in Node's thread pool keeps Ctrl-C from ending the process), a device such as
 * /dev/zero never ends, and a huge file exhausts the heap: all three are refused before any
 * byte is read, with what and where. The limits are documented in docs/pipeline.md ("Files").
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { InputError } from './errors.js';

/** A pipeline file or a base it extends: far more than any real pipeline (they are a few KiB). */
export const PIPELINE_FILE_LIMIT = 1 << 20;
/** A JSON file trtpipe wrote and reads back (run.json, a lockfile, a search result, a cache entry). */
export const RECORD_FILE_LIMIT = 256 * 2 ** 20;
/** A model or a data file (npz/npy): large models keep their weights in external data files. */
export const DATA_FILE_LIMIT = 64 * 2 ** 30;

/** What a non-regular file is, for the message. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}

/**
 * Why a file with these stats cannot be read as a user file ("is a device, not a regular file"),
 * or undefined when it can.
 */
export function fileProblem(st: Stats, limit: number): string | undefined {
  if (!st.isFile()) return `is ${kindOf(st)}, not a regular file`;
  if (st.size > limit) return `is ${st.size} bytes, over the limit of ${limitText(limit)}`;
  return undefined;
}

function limitText(bytes: number): string {
  return bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
}

/**
 * Checks that `file` is a regular file of at most `limit` bytes, without opening it (stat never
 * blocks on a FIFO). `what` names it in the message ("model", "evaluation data").
 * @returns its size
 * @throws InputError when it is missing, not a regular file or too large
 */
export function checkRegularFile(file: string, what: string, limit: number, display = file): number {
  let st: Stats;
  try {
    st = statSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InputError(e.code === 'ENOENT' ? `${what} not found: ${display}` : `cannot read ${what} ${display}: ${e.message}`);
  }
  return checkStats(st, what, limit, display);
}

function checkStats(st: Stats, what: string, limit: number, display: string): number {
  const problem = fileProblem(st, limit);
  if (problem) throw new InputError(`${what} ${display} ${problem}`);
  return st.size;
}

/**
 * Reads a small user file as UTF-8 text: opened without blocking (O_NONBLOCK, so a FIFO with no
 * writer does not wait), checked on the open descriptor (no window between check and read), and
 * read only up to `limit` bytes.
 * @throws InputError as checkRegularFile does
 */
export function readUserText(file: string, what: string, limit: number, display = file): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EISDIR') throw new InputError(`${what} ${display} is a folder, not a regular file`);
    throw new InputError(e.code === 'ENOENT' ? `${what} not found: ${display}` : `cannot read ${what} ${display}: ${e.message}`);
  }
  try {
    const size = checkStats(fstatSync(fd), what, limit, display);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString('utf8', 0, got);
  } finally {
    closeSync(fd);
  }
}
