/**
 * The array names in an .npz file (a zip of `<name>.npy` members), read from
 * the zip's central directory without unpacking anything. Used by
 * `trtpipe init` to check data against the model's inputs and to find labels, and by
 * nonfinite-scan.ts to find each array's bytes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** End-of-central-directory record (22 bytes) plus the longest zip comment. */
const TAIL_BYTES = 22 + 0xffff;

/** One array of an .npz: where its (stored or deflated) .npy bytes start, and how many there are. */
export interface NpzMember {
  name: string;
  /** 0: stored; 8: deflated. */
  method: number;
  /** Offset of the member's data (after its local header). */
  offset: number;
  compressedSize: number;
}

/** The array names, or undefined when the file is not a zip this reader understands. */
export function npzKeys(file: string): string[] | undefined {
  return npzMembers(file)?.map((m) => m.name);
}

/** The arrays of an .npz with where their bytes lie, or undefined when it is not a zip this reader understands. */
export function npzMembers(file: string): NpzMember[] | undefined {
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
    const members: NpzMember[] = [];
    const local = Buffer.alloc(30);
    let at = 0;
    for (let k = 0; k < entries; k++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== CENTRAL_SIGNATURE) return undefined;
      const method = dir.readUInt16LE(at + 10);
      const compressedSize = dir.readUInt32LE(at + 20);
      const nameLength = dir.readUInt16LE(at + 28);
      const extraLength = dir.readUInt16LE(at + 30);
      const commentLength = dir.readUInt16LE(at + 32);
      const localOffset = dir.readUInt32LE(at + 42);
      const name = dir.toString('utf8', at + 46, at + 46 + nameLength).replace(/\.npy$/, '');
      // The data starts after the member's local header, whose name and extra field may differ from the central one.
      if (localOffset + 30 > size || readSync(fd, local, 0, 30, localOffset) < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE)
        return undefined;
      const offset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      members.push({ name, method, offset, compressedSize });
      at += 46 + nameLength + extraLength + commentLength;
    }
    return members;
  } finally {
    closeSync(fd);
  }
}
