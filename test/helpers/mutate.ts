/**
 * A seeded mutator of pipeline files for the loader's fuzz test. Structural
 * changes work on the parsed value (deleted keys, values of the wrong type,
 * swapped values, misspelled or unknown keys, `${VAR}`s, `extends`) and are
 * written back as block YAML or as JSON (also YAML, flow style); text changes
 * then damage the bytes (garbage characters, deleted, duplicated, swapped or
 * re-indented lines, cut spans, truncation). Deterministic for a seed, so a
 * failure can be replayed.
 */
import { parse, stringify } from 'yaml';

export { seeded as rng } from './random.js';

type Rand = () => number;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number) => Math.floor(r() * n);

const GARBAGE = ['\u0000', '\t', '\r', '\u00ff', '\ufffd', '\u{1F600}', '{', '}', '[', ']', ':', '- ', '&a ', '*a', '!', '!!str ', '%', '@', '`', '"', "'", '#', '|', '>', '\\', '${', '$${', '---\n', '? ', ',', '\n', '  ', '<<: ', '.nan', '.inf'];

/** Values of every type (and some that only look right), for swapping in. */
const VALUES: readonly Json[] = [
  0, -1, 1.5, 2 ** 53 + 1, 1e300, '', ' ', 'fp16', 'fp61', 'int8', 'cpu', 'local', 'grpc://h:1', 'ftp://x', true, false, null,
  [], [1], ['a', 'b'], [[]], {}, { a: 1 }, { min: [1] }, { op: 'Softmax' }, '5%', '-5%', '${TRTPIPE_FUZZ_UNSET}',
  '${TRTPIPE_FUZZ_SET:-7}', '$${literal}', '${', 'x'.repeat(300), '../../no/such/file.onnx', '.', '/', '__proto__', '>=8.9', '==7.5',
  // Long runs that make badly written patterns backtrack exponentially.
  '1'.repeat(60), '1 '.repeat(60), '>=1.'.repeat(40), 'grpc://'.concat(':1'.repeat(60)), 'a'.repeat(70),
];

const KEYS = ['model', 'path', 'data', 'evaluation', 'calibration', 'npz', 'dir', 'synthetic', 'precision', 'rules', 'match', 'use',
  'targets', 'name', 'matrix', 'batch', 'include', 'exclude', 'gates', 'extends', '__proto__', 'constructor', 'toString', 'x', ''];

const EXTENDS = ['./', '../pipelines/quickstart.yaml', 'quickstart.yaml', '../../pipelines/quickstart.yaml', 'missing.yaml', '', '${TRTPIPE_FUZZ_UNSET}'];

interface Spot {
  parent: Json[] | { [k: string]: Json };
  key: string | number;
}

function spots(v: Json, out: Spot[] = []): Spot[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ parent: v, key: i });
      spots(x, out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push({ parent: v, key: k });
      spots(v[k]!, out);
    }
  }
  return out;
}

const get = (s: Spot): Json => (s.parent as Record<string | number, Json>)[s.key]!;
const set = (s: Spot, v: Json) => Object.defineProperty(s.parent, s.key, { value: v, enumerable: true, writable: true, configurable: true });

function structural(value: Json, r: Rand): string {
  const all = spots(value);
  const spot = all.length ? pick(r, all) : undefined;
  const kind = pick(r, ['delete', 'retype', 'swap', 'unknown-key', 'typo-key', 'extends', 'empty'] as const);
  if (!spot || value === null || typeof value !== 'object' || Array.isArray(value)) return 'none';
  switch (kind) {
    case 'delete':
      if (Array.isArray(spot.parent)) spot.parent.splice(spot.key as number, 1);
      else delete spot.parent[spot.key];
      break;
    case 'retype':
      set(spot, structuredClone(pick(r, VALUES)));
      break;
    case 'swap': {
      const other = pick(r, all);
      const a = get(spot);
      const b = get(other);
      // Leaves only: swapping a collection into its own descendant would make a cycle.
      if ((a === null || typeof a !== 'object') && (b === null || typeof b !== 'object')) {
        set(spot, b);
        set(other, a);
      }
      break;
    }
    case 'unknown-key':
      if (Array.isArray(spot.parent)) spot.parent.push(structuredClone(pick(r, VALUES)));
      else set({ parent: spot.parent, key: pick(r, KEYS) }, structuredClone(pick(r, VALUES)));
      break;
    case 'typo-key':
      if (!Array.isArray(spot.parent)) {
        const k = String(spot.key);
        const at = int(r, Math.max(1, k.length));
        const v = get(spot);
        delete spot.parent[k];
        set({ parent: spot.parent, key: k.slice(0, at) + pick(r, ['', 'x', k.slice(at, at + 1)]) + k.slice(at + 1) }, v);
      }
      break;
    case 'extends':
      set({ parent: value, key: 'extends' }, pick(r, EXTENDS));
      break;
    case 'empty': {
      const v = get(spot);
      set(spot, Array.isArray(v) ? [] : v !== null && typeof v === 'object' ? {} : null);
      break;
    }
  }
  return kind;
}

function textual(text: string, r: Rand): { kind: string; text: string } {
  const lines = text.split('\n');
  const kind = pick(r, ['garbage', 'delete-line', 'duplicate-line', 'swap-lines', 'indent', 'cut-span', 'truncate'] as const);
  const at = int(r, lines.length);
  switch (kind) {
    case 'garbage': {
      const offset = int(r, text.length + 1);
      const junk = Array.from({ length: 1 + int(r, 4) }, () => pick(r, GARBAGE)).join('');
      return { kind, text: text.slice(0, offset) + junk + text.slice(offset) };
    }
    case 'delete-line':
      lines.splice(at, 1);
      break;
    case 'duplicate-line':
      lines.splice(at, 0, lines[at] ?? '');
      break;
    case 'swap-lines': {
      const b = int(r, lines.length);
      [lines[at], lines[b]] = [lines[b]!, lines[at]!];
      break;
    }
    case 'indent':
      lines[at] = r() < 0.5 ? `  ${lines[at]}` : (lines[at] ?? '').replace(/^ {1,2}/, '');
      break;
    case 'cut-span': {
      const offset = int(r, text.length);
      return { kind, text: text.slice(0, offset) + text.slice(offset + 1 + int(r, 20)) };
    }
    case 'truncate':
      return { kind, text: text.slice(0, int(r, text.length)) };
  }
  return { kind, text: lines.join('\n') };
}

/** The parsed values of corpus texts, parsed once. */
const parsed = new Map<string, Json>();

/**
 * Up to two structural mutations (then the value is written back as YAML or
 * JSON), then up to two text mutations; at least one mutation in all.
 */
export function mutate(text: string, r: Rand): { text: string; kinds: string[] } {
  const kinds: string[] = [];
  let out = text;
  const s = int(r, 3);
  const t = s === 0 ? 1 + int(r, 2) : int(r, 2);
  if (s) {
    if (!parsed.has(text)) parsed.set(text, parse(text) as Json);
    const value = structuredClone(parsed.get(text)!);
    for (let i = 0; i < s; i++) kinds.push(`structure:${structural(value, r)}`);
    out = r() < 0.7 ? stringify(value) : JSON.stringify(value, null, r() < 0.5 ? 2 : undefined);
  }
  for (let i = 0; i < t; i++) {
    const m = textual(out, r);
    kinds.push(`text:${m.kind}`);
    out = m.text;
  }
  return { text: out, kinds };
}
