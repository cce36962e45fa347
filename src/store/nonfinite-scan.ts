/**
 * Counting NaN and infinite values in the float arrays of a data file (.npz or .npy), streamed:
 * a data set with them makes every accuracy figure NaN (and once crashed the reports), so a run
 * refuses it before any stage starts, naming the array, the first sample and the count, unless
 * the pipeline allows it (`data.<set>.allow_nonfinite`). An .npz is a zip of .npy members, stored
 * or deflated (numpy's savez and savez_compressed); members are found through the zip's central
 * directory (npz-keys.ts) and each is read once, in chunks.
 */
import { createReadStream } from 'node:fs';
import { createInflateRaw } from 'node:zlib';
import { npzMembers, type NpzMember } from './npz-keys.js';

export interface NonfiniteFinding {
  /** The array's name in the file. */
  array: string;
  /** How many values are NaN or infinite. */
  count: number;
  /** The first sample (index along the first axis) that holds one. */
  firstSample: number;
  /** How many samples hold at least one. */
  samples: number;
}

/** float16/32/64 in either byte order; other dtypes cannot hold NaN. */
const FLOAT = /^([<>=|])f([248])$/;

/** Every float array of `file` that holds a non-finite value (empty: none). */
export async function scanNonfinite(file: string): Promise<NonfiniteFinding[]> {
  if (file.endsWith('.npy')) {
    const f = await scanNpy(file, {
      name: file.replace(/^.*\//, '').replace(/\.npy$/, ''),
      method: 0,
      offset: 0,
      compressedSize: Infinity,
    });
    return f ? [f] : [];
  }
  const found: NonfiniteFinding[] = [];
  for (const m of npzMembers(file) ?? []) {
    const f = await scanNpy(file, m);
    if (f) found.push(f);
  }
  return found;
}

/** The bytes of one .npy: a member of an npz (inflated when deflated) or a whole file. */
export function npyStream(file: string, m: NpzMember): { stream: AsyncIterable<Buffer>; close: () => void } {
  const end = Number.isFinite(m.compressedSize) ? m.offset + m.compressedSize - 1 : undefined;
  const raw = createReadStream(file, { start: m.offset, ...(end !== undefined ? { end } : {}), highWaterMark: 1 << 20 });
  return { stream: (m.method === 8 ? raw.pipe(createInflateRaw()) : raw) as AsyncIterable<Buffer>, close: () => raw.destroy() };
}

/** Reads one .npy (a member of an npz, or a whole file) and counts its non-finite values. */
async function scanNpy(file: string, m: NpzMember): Promise<NonfiniteFinding | undefined> {
  const { stream, close } = npyStream(file, m);
  let head = Buffer.alloc(0);
  let counter: Counter | undefined;
  try {
    for await (const chunk of stream) {
      if (counter) {
        counter.add(chunk);
        continue;
      }
      head = Buffer.concat([head, chunk]);
      const parsed = parseNpyHeader(head);
      if (parsed === 'more') continue;
      const dtype = parsed && !parsed.fortran ? FLOAT.exec(parsed.descr) : null;
      if (!parsed || !dtype) return undefined; // not a float array (or not an .npy this reader knows): nothing to count
      const sampleSize = parsed.shape.slice(1).reduce((a, x) => a * x, 1) || 1;
      counter = new Counter(Number(dtype[2]) as 2 | 4 | 8, dtype[1] !== '>', sampleSize);
      counter.add(head.subarray(parsed.dataStart));
    }
  } finally {
    close();
  }
  return counter?.count ? { array: m.name, count: counter.count, firstSample: counter.firstSample, samples: counter.samples } : undefined;
}

export interface NpyHeader {
  dataStart: number;
  /** numpy's dtype string, e.g. '<f4', '<i8'. */
  descr: string;
  shape: number[];
  fortran: boolean;
}

/** The .npy header: 'more' until it is complete, undefined when the bytes are not an .npy. */
export function parseNpyHeader(b: Buffer): NpyHeader | 'more' | undefined {
  if (b.length < 10) return 'more';
  if (b.readUInt8(0) !== 0x93 || b.toString('latin1', 1, 6) !== 'NUMPY') return undefined;
  const lenBytes = b.readUInt8(6) === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) return 'more';
  const len = lenBytes === 2 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const dataStart = 8 + lenBytes + len;
  if (b.length < dataStart) return 'more';
  const dict = b.toString('latin1', 8 + lenBytes, dataStart);
  const descr = /'descr':\s*'([^']*)'/.exec(dict)?.[1] ?? '';
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(dict)?.[1] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map(Number);
  return { dataStart, descr, shape, fortran: /'fortran_order':\s*True/.test(dict) };
}

/** Counts non-finite values in a stream of element bytes, carrying a partial element between chunks. */
class Counter {
  count = 0;
  samples = 0;
  firstSample = -1;
  private index = 0;
  private lastSample = -1;
  private carry = Buffer.alloc(0);

  constructor(
    private readonly bytes: 2 | 4 | 8,
    private readonly littleEndian: boolean,
    private readonly sampleSize: number,
  ) {}

  add(chunk: Buffer): void {
    const b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = b.length - (b.length % this.bytes);
    const view = new DataView(b.buffer, b.byteOffset, whole);
    for (let at = 0; at < whole; at += this.bytes, this.index++) {
      if (this.finite(view, at)) continue;
      this.count += 1;
      const sample = Math.floor(this.index / this.sampleSize);
      if (sample !== this.lastSample) {
        this.samples += 1;
        this.lastSample = sample;
        if (this.firstSample < 0) this.firstSample = sample;
      }
    }
    this.carry = Buffer.from(b.subarray(whole));
  }

  /** IEEE 754: a value is NaN or infinite exactly when its exponent bits are all ones. */
  private finite(v: DataView, at: number): boolean {
    const le = this.littleEndian;
    if (this.bytes === 2) return (v.getUint16(at, le) & 0x7c00) !== 0x7c00;
    if (this.bytes === 4) return (v.getUint32(at, le) & 0x7f800000) !== 0x7f800000;
    return (v.getUint32(le ? at + 4 : at, le) & 0x7ff00000) !== 0x7ff00000;
  }
}
