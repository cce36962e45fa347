/**
 * A parsed YAML file that remembers where everything came from, so any key
 * path can be turned back into file:line:col.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { type Diagnostic, type KeyPath, formatPath } from './diagnostics.js';

export interface SourceFile {
  /** Path for messages (as given, or relative to the working directory). */
  display: string;
  /** Absolute path. */
  absolute: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export interface Position {
  line: number;
  col: number;
}

/** Parses YAML text; syntax errors (and duplicate keys) come back as diagnostics. */
export function parseSource(text: string, display: string, absolute: string): { source: SourceFile; errors: Diagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  const errors: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    errors.push({
      severity: doc.errors.includes(e as never) ? 'error' : 'warning',
      code: e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
      file: display,
      line: pos.line,
      col: pos.col,
      path: '',
      message: yamlMessage(e.code, e.message),
    });
  }
  return { source: { display, absolute, text, doc, lines }, errors };
}

export async function readSource(absolute: string, display: string) {
  const text = await readFile(absolute, 'utf8');
  return parseSource(text, display, absolute);
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') {
    return 'duplicate key: each key may appear once in a mapping';
  }
  // The yaml library appends " at line L, column C" and a code frame; we print our own.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * The position of the node at `path`; with `key`, of the mapping key itself
 * (for unknown or misplaced keys). Falls back to the deepest existing parent.
 */
export function locate(source: SourceFile, path: KeyPath, key = false): Position {
  let node: Node | null | undefined = source.doc.contents as Node | null;
  let keyNode: Node | null | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key as Node;
      node = pair.value as Node | null;
      if (node === null || node === undefined) {
        node = keyNode;
      }
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      keyNode = undefined;
      node = node.items[seg] as Node;
    } else {
      break;
    }
  }
  const target = key && keyNode ? keyNode : node;
  const offset = target?.range?.[0] ?? 0;
  const pos = source.lines.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/** A diagnostic at `path` in `source`. */
export function at(
  source: SourceFile,
  path: KeyPath,
  code: string,
  message: string,
  hint?: string,
  opts: { key?: boolean; severity?: 'error' | 'warning' } = {},
): Diagnostic {
  const pos = locate(source, path, opts.key ?? false);
  return {
    severity: opts.severity ?? 'error',
    code,
    file: source.display,
    line: pos.line,
    col: pos.col,
    path: formatPath(path),
    message,
    ...(hint ? { hint } : {}),
  };
}
