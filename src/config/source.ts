/**
 * One YAML file, parsed with positions: the text, the document and a line
 * counter, so any offset can be turned back into line:col.
 */
import { parseDocument, type Document } from 'yaml';
import type { Diagnostic } from './diagnostics.js';

/**
 * Offsets to 1-based line:col. Built from the text itself: the yaml library's
 * LineCounter only learns the line breaks its lexer reaches, which in a
 * broken document is not all of them. Lines end at \n (as for the parser).
 */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  linePos(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo]! + 1 };
  }
}

export interface SourceFile {
  /** Path for messages (relative to the working directory where possible). */
  display: string;
  /** Absolute path. */
  absolute: string;
  text: string;
  doc: Document.Parsed;
  lines: LineIndex;
}

/** Parses YAML text; syntax errors (and duplicate keys) come back as diagnostics. */
export function parseSource(text: string, display: string, absolute: string): { source: SourceFile; errors: Diagnostic[] } {
  const lines = new LineIndex(text);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  const errors: Diagnostic[] = [];
  const linesWithErrors = new Set<number>();
  let syntaxErrors = 0;
  let firstUnreported: { line: number; col: number } | undefined;
  for (const [severity, list] of [
    ['error', doc.errors],
    ['warning', doc.warnings],
  ] as const) {
    for (const e of list) {
      const pos = lines.linePos(e.pos[0]);
      // The parser often reports one mistake several times on its line: keep the first.
      if (severity === 'error' && e.code !== 'DUPLICATE_KEY') {
        if (linesWithErrors.has(pos.line)) continue;
        linesWithErrors.add(pos.line);
        // After a few, the rest are mostly echoes of the first: say how many, not each.
        if (++syntaxErrors > MAX_SYNTAX_ERRORS) {
          firstUnreported ??= pos;
          continue;
        }
      }
      const hint = e.code === 'DUPLICATE_KEY' ? 'remove one of them' : syntaxHint(e.code, e.message, text, e.pos[0]);
      errors.push({
        severity,
        code: e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
        file: display,
        line: pos.line,
        col: pos.col,
        path: '',
        message: yamlMessage(e.code, e.message),
        ...(hint ? { hint } : {}),
      });
    }
  }
  if (firstUnreported) {
    errors.push({
      severity: 'error',
      code: 'yaml-syntax-more',
      file: display,
      ...firstUnreported,
      path: '',
      message: `${syntaxErrors - MAX_SYNTAX_ERRORS} more syntax error(s) from here on`,
      hint: 'they often disappear once the first is fixed',
    });
  }
  return { source: { display, absolute, text, doc, lines }, errors };
}

/** Syntax errors reported one by one; the rest are counted. */
const MAX_SYNTAX_ERRORS = 3;

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key may appear once in a mapping';
  if (code === 'MULTIPLE_DOCS') return 'a pipeline file holds one YAML document; this one has more';
  // The parser recurses per level: thousands of nested [ or { exhaust the stack.
  if (/Maximum call stack size exceeded/.test(message)) return 'the document nests deeper than the YAML parser can follow';
  // The yaml library appends " at line L, column C" and a code frame; we print our own.
  return message
    .split('\n')[0]!
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/\.$/, '');
}

/** Fixes for the syntax mistakes pipeline authors make most. */
function syntaxHint(code: string, message: string, text: string, offset: number): string | undefined {
  if (text.startsWith('${', offset - 1) || text.startsWith('${', offset))
    return 'inside { } and [ ], quote values that use ${VAR}: "${VAR}"';
  if (code === 'TAB_AS_INDENT') return 'indent with spaces';
  if (/Maximum call stack size exceeded/.test(message)) return 'a pipeline nests a few levels deep; remove the extra [ and {';
  if (code === 'MULTIPLE_DOCS') return 'remove the --- line and what follows it, or move that part to a file of its own';
  if (code === 'BLOCK_AS_IMPLICIT_KEY') return 'quote a value that contains ": ", e.g. name: "a: b"';
  if (/end with a [}\]]/.test(message))
    return 'close every { with } and every [ with ] on the line where it opens, or write the mapping as indented lines';
  return undefined;
}
