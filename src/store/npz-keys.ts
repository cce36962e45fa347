/**
 * The array names in an .npz file (a zip of `<name>.npy` members), read from
 * the zip's central directory without unpacking anything. Used by
 * `trtpipe init` to check data against the model's inputs and to find labels.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
/** End-of-central-directory record (22 bytes) plus the longest zip comment. */
const TAIL_BYTES = 22 + 0xffff;

/** The array names, or undefined when the file is not a zip this reader understands. */
export function npzKeys(file: string): string[] | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(tailLength);
    readSync(fd, tail, 0, tailLength, size - tailLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return undefined;
    const entries = tail.readUInt16LE(eocd + 10);
    const dirSize = tail.readUInt32LE(eocd + 12);
    const dirOffset = tail.readUInt32LE(eocd + 16);
    // zip64 archives (over 4 GiB or 65535 members) mark these fields as 0xFFFF...
    if (entries === 0xffff || dirOffset === 0xffffffff || dirOffset + dirSize > size) return undefined;
    const dir = Buffer.alloc(dirSize);
    readSync(fd, dir, 0, dirSize, dirOffset);
    const names: string[] = [];
    let at = 0;
    for (let k = 0; k < entries; k++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL_SIGNATURE) return undefined;
      const nameLength = dir.readUInt16LE(at + 28);
      const extraLength = dir.readUInt16LE(at + 30);
      const commentLength = dir.readUInt16LE(at + 32);
      names.push(dir.toString('utf8', at + 46, at + 46 + nameLength));
      at += 46 + nameLength + extraLength + commentLength;
    }
    return names.map((n) => n.replace(/\.npy$/, ''));
  } finally {
    closeSync(fd);
  }
}
