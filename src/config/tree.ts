/**
 * A parsed YAML document as a tree of plain values in which every node
 * remembers the file and offset it came from. `extends` merges such trees, so
 * a value inherited from a base file is still reported at its place in that
 * file. String values are interpolated (`${VAR}`) while the tree is built, so
 * an unset variable is reported where it is written.
 */
import { isAlias, isMap, isScalar, isSeq, type Node, Scalar } from 'yaml';
import { type Diagnostic, formatPath, type KeyPath } from './diagnostics.js';
import { type Env, interpolate, retype } from './interpolate.js';
import type { SourceFile } from './source.js';

export interface Origin {
  source: SourceFile;
  /** Offset of the node's first character in `source.text`. */
  offset: number;
}

interface Common {
  origin: Origin;
  /** Where the mapping key of this value is written (map entries only). */
  keyOrigin?: Origin;
}
export type TreeNode = Common &
  (
    | { kind: 'map'; entries: Map<string, TreeNode> }
    | { kind: 'seq'; items: TreeNode[] }
    | { kind: 'scalar'; value: string | number | boolean | null }
  );

/** Alias expansion beyond this many nodes is refused ("billion laughs"). */
const MAX_NODES = 100_000;

/** Builds the tree of a parsed source; problems come back as diagnostics. */
export function buildTree(source: SourceFile, env: Env): { tree?: TreeNode; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  let count = 0;
  const stack = new Set<Node>();
  const here = (offset: number): Origin => ({ source, offset });
  const report = (offset: number, path: KeyPath, code: string, message: string, hint?: string) => {
    const pos = source.lines.linePos(offset);
    diagnostics.push({ severity: 'error', code, file: source.display, line: pos.line, col: pos.col, path: formatPath(path), message, ...(hint ? { hint } : {}) });
  };

  const convert = (node: Node | null | undefined, path: KeyPath, fallback: number): TreeNode | undefined => {
    if (++count > MAX_NODES) {
      if (count === MAX_NODES + 1) {
        report(fallback, path, 'too-large', `the document expands to more than ${MAX_NODES} values`, 'use fewer aliases (*name)');
      }
      return undefined;
    }
    if (node === null || node === undefined) return { kind: 'scalar', value: null, origin: here(fallback) };
    const start = node.range?.[0] ?? fallback;
    if (isAlias(node)) {
      const target = node.resolve(source.doc) as Node | undefined;
      if (!target) {
        report(start, path, 'yaml-alias', `alias *${node.source} refers to no anchor`, `define &${node.source} before using it`);
        return undefined;
      }
      if (stack.has(target)) {
        report(start, path, 'yaml-alias', `alias *${node.source} refers to a value that contains it`, 'an alias cannot repeat its own ancestor');
        return undefined;
      }
      stack.add(target);
      try {
        return convert(target, path, start);
      } finally {
        stack.delete(target);
      }
    }
    if (isScalar(node)) return scalar(node, path, start);
    if (isMap(node)) {
      const entries = new Map<string, TreeNode>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        const keyOffset = key?.range?.[0] ?? start;
        // A key that YAML reads as a number or boolean keeps its text (`1.0:`, `.nan:`), as an editor shows it.
        const name = !isScalar(key) ? undefined
          : typeof key.value === 'string' ? key.value
          : typeof key.value === 'number' || typeof key.value === 'boolean' ? (key.source ?? String(key.value)) : undefined;
        if (name === undefined) {
          report(keyOffset, path, 'bad-key', 'a key must be a plain word', 'write key: value with a simple key');
          continue;
        }
        if (entries.has(name)) {
          report(keyOffset, [...path, name], 'duplicate-key', 'duplicate key: each key may appear once in a mapping', 'remove one of them');
          continue;
        }
        const value = pair.value as Node | null;
        // An empty value (`key:`) has no extent of its own: point at the key.
        const empty = value === null || (isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]);
        const child = convert(empty ? null : value, [...path, name], keyOffset);
        if (child) entries.set(name, { ...child, keyOrigin: here(keyOffset) });
      }
      return { kind: 'map', entries, origin: here(start) };
    }
    if (isSeq(node)) {
      const items: TreeNode[] = [];
      node.items.forEach((item, i) => {
        const child = convert(item as Node | null, [...path, i], start);
        if (child) items.push(child);
      });
      return { kind: 'seq', items, origin: here(start) };
    }
    report(start, path, 'yaml-syntax', 'unsupported YAML construct here', 'write a mapping, a list or a plain value');
    return undefined;
  };

  const scalar = (node: Scalar, path: KeyPath, start: number): TreeNode | undefined => {
    const v = node.value;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, origin: here(start) };
    if (typeof v !== 'string') {
      report(start, path, 'yaml-type', 'this YAML value type is not supported here', 'write a string, a number, true/false or null');
      return undefined;
    }
    const r = interpolate(v, env);
    if (r.errors.length) {
      const raw = source.text.slice(start, node.range?.[1] ?? start);
      const seen = new Map<string, number>();
      for (const e of r.errors) {
        // Point at the `${` itself where it appears verbatim in the source.
        const from = seen.get(e.needle) ?? 0;
        const at = raw.indexOf(e.needle, from);
        seen.set(e.needle, at < 0 ? from : at + 1);
        report(at < 0 ? start : start + at, path, 'interpolation', e.message, e.hint);
      }
      // Keep the text as written, so the rest of the document is still checked.
      return { kind: 'scalar', value: v, origin: here(start) };
    }
    // `batch: ${B}` and `batch: "${B}"` (quoting is needed inside { }) are
    // typed like plain YAML; `!!str ${B}` and text around the ${} stay strings.
    const whole = /^\$\{[^}]*\}$/.test(v.trim());
    const typed = r.changed && node.tag !== 'tag:yaml.org,2002:str' && (node.type === Scalar.PLAIN || whole);
    const value = typed ? retype(r.value) : r.value;
    return { kind: 'scalar', value, origin: here(start) };
  };

  const tree = convert(source.doc.contents as Node | null, [], 0);
  return { tree, diagnostics };
}

/** The plain value of a tree (what the schema checks and normalize reads). */
export function toValue(node: TreeNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toValue);
    case 'map':
      // fromEntries defines own properties, so a key like __proto__ stays a key.
      return Object.fromEntries([...node.entries].map(([k, v]) => [k, toValue(v)]));
  }
}

/**
 * `over` on top of `base`: mappings merge key by key (recursively); lists and
 * scalars in `over` replace the base's. Every node keeps its origin.
 */
export function mergeTrees(base: TreeNode, over: TreeNode): TreeNode {
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const entries = new Map(base.entries);
  for (const [k, v] of over.entries) {
    const b = entries.get(k);
    entries.set(k, b ? mergeTrees(b, v) : v);
  }
  return { ...over, entries };
}
