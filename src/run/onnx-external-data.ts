/**
 * Which files an ONNX model's tensors live in (external data), read from the
 * .onnx without loading it: a walk over the protobuf wire format that descends
 * only into the messages that can hold tensors (graphs, nodes, attributes,
 * sparse tensors, functions) and skips everything else by its length, so a
 * large model with inline weights costs a few reads, not its size in memory.
 * Field numbers are onnx.proto's.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

type Kind = 'model' | 'graph' | 'node' | 'attribute' | 'sparse' | 'tensor' | 'function' | 'entry';

/** Per message kind: the length-delimited fields worth descending into. */
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  function: { 7: 'node' },
  tensor: { 13: 'entry' },
  entry: {},
};
const TENSOR_NAME = 8;
const DATA_LOCATION = 14;
const EXTERNAL = 1;

export interface ExternalTensor {
  tensor: string;
  /** The `location` entry as written (a path relative to the model's folder, if well-formed). */
  location: string;
}

/** Random access to a file through a moving 1 MiB window. */
class Window {
  private buf = Buffer.alloc(1 << 20);
  private start = 0;
  private end = 0;

  constructor(private readonly fd: number) {}

  byte(pos: number): number {
    if (pos < this.start || pos >= this.end) {
      this.start = pos;
      this.end = pos + readSync(this.fd, this.buf, 0, this.buf.length, pos);
      if (pos >= this.end) throw new Error('truncated');
    }
    return this.buf[pos - this.start]!;
  }

  bytes(pos: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.byte(pos + i);
    return out;
  }

  varint(pos: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(pos++);
      value += (b & 0x7f) * scale;
      if (b < 0x80) return [value, pos];
      scale *= 128;
    }
    throw new Error('bad varint');
  }
}

/**
 * The tensors of an ONNX file whose data is external, with their locations.
 * A file that is not ONNX protobuf yields [] (the runner then says what is wrong with it).
 */
export function externalTensors(file: string): ExternalTensor[] {
  const fd = openSync(file, 'r');
  const found: ExternalTensor[] = [];
  try {
    const w = new Window(fd);
    walk(w, 'model', 0, fstatSync(fd).size, found);
    return found;
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}

interface Fields {
  name?: string;
  location?: string;
  external?: boolean;
  key?: string;
  value?: string;
  entries: { key: string; value: string }[];
}

function walk(w: Window, kind: Kind, start: number, end: number, found: ExternalTensor[]): Fields {
  const fields: Fields = { entries: [] };
  let pos = start;
  while (pos < end) {
    const [tag, afterTag] = w.varint(pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    pos = afterTag;
    if (wire === 0) {
      const [value, next] = w.varint(pos);
      if (kind === 'tensor' && field === DATA_LOCATION) fields.external = value === EXTERNAL;
      pos = next;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 2) {
      const [length, body] = w.varint(pos);
      pos = body + length;
      if (pos > end) throw new Error('field past the end of its message');
      const child = CHILDREN[kind][field];
      if (child === 'entry') {
        const e = walk(w, 'entry', body, pos, found);
        fields.entries.push({ key: e.key ?? '', value: e.value ?? '' });
      } else if (child) {
        walk(w, child, body, pos, found);
      } else if (kind === 'tensor' && field === TENSOR_NAME) {
        fields.name = w.bytes(body, length).toString('utf8');
      } else if (kind === 'entry' && (field === 1 || field === 2)) {
        fields[field === 1 ? 'key' : 'value'] = w.bytes(body, length).toString('utf8');
      }
    } else {
      throw new Error(`wire type ${wire}`);
    }
  }
  if (kind === 'tensor' && fields.external) {
    found.push({ tensor: fields.name ?? '', location: fields.entries.find((e) => e.key === 'location')?.value ?? '' });
  }
  return fields;
}
