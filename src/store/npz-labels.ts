/**
 * The class labels of an evaluation data set, read from its .npz (or `<dir>/<labels>.npy`), so that
 * labels outside the model's classes are an error naming the sample and the value instead of a
 * silent top-1 of 0% (issue 13 item 10). Labels are one integer per sample: read whole, up to a limit.
 */
import path from 'node:path';
import { npyStream, parseNpyHeader } from './nonfinite-scan.js';
import { npzMembers, type NpzMember } from './npz-keys.js';

/** 32 M labels (256 MiB of int64): far beyond any evaluation set; larger arrays are not checked. */
const MAX_LABEL_BYTES = 256 * 2 ** 20;
const INTEGER = /^([<>=|])([iu])([1248])$/;

/** The labels as numbers, or undefined when the array is absent, not integer or too large to check. */
export async function readLabels(data: { npz?: string; dir?: string }, name: string): Promise<number[] | undefined> {
  let file: string;
  let member: NpzMember | undefined;
  if (data.npz) {
    file = data.npz;
    member = npzMembers(file)?.find((m) => m.name === name);
  } else if (data.dir) {
    file = path.join(data.dir, `${name}.npy`);
    member = { name, method: 0, offset: 0, compressedSize: Infinity };
  } else return undefined;
  if (!member) return undefined;
  const { stream, close } = npyStream(file, member);
  let buf = Buffer.alloc(0);
  try {
    for await (const chunk of stream) {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_LABEL_BYTES) return undefined;
    }
  } catch {
    return undefined;
  } finally {
    close();
  }
  const h = parseNpyHeader(buf);
  const dtype = h && h !== 'more' ? INTEGER.exec(h.descr) : null;
  if (!h || h === 'more' || !dtype) return undefined;
  const bytes = Number(dtype[3]);
  const signed = dtype[2] === 'i';
  const le = dtype[1] !== '>';
  const view = new DataView(buf.buffer, buf.byteOffset + h.dataStart, buf.length - h.dataStart);
  const out: number[] = [];
  for (let at = 0; at + bytes <= view.byteLength; at += bytes) {
    if (bytes === 1) out.push(signed ? view.getInt8(at) : view.getUint8(at));
    else if (bytes === 2) out.push(signed ? view.getInt16(at, le) : view.getUint16(at, le));
    else if (bytes === 4) out.push(signed ? view.getInt32(at, le) : view.getUint32(at, le));
    else out.push(Number(signed ? view.getBigInt64(at, le) : view.getBigUint64(at, le)));
  }
  return out;
}

/**
 * Why `labels` cannot be classes of a model with `classes` outputs (naming the first sample out of
 * range, its value and how many there are), or undefined when they all fit.
 */
export function labelsProblem(labels: number[], classes: number): string | undefined {
  let first = -1;
  let count = 0;
  labels.forEach((v, i) => {
    if (v >= 0 && v < classes) return;
    count += 1;
    if (first < 0) first = i;
  });
  if (first < 0) return undefined;
  return `sample ${first} has label ${labels[first]}, outside the model's ${classes} classes (0..${classes - 1}); ${count} of ${labels.length} labels are out of range`;
}
