/**
 * One YAML file, parsed with positions: the text, the document and a line
 * counter, so any offset can be turned back into line:col.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Diagnostic } from './diagnostics.js';

export interface SourceFile {
  /** Path for messages (relative to the working directory where possible). */
  display: string;
  /** Absolute path. */
  absolute: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Parses YAML text; syntax errors (and duplicate keys) come back as diagnostics. */
export function parseSource(text: string, display: string, absolute: string): { source: SourceFile; errors: Diagnostic[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
  const errors: Diagnostic[] = [];
  const linesWithErrors = new Set<number>();
  for (const [severity, list] of [['error', doc.errors], ['warning', doc.warnings]] as const) {
    for (const e of list) {
      const pos = lines.linePos(e.pos[0]);
      // The parser often reports one mistake several times on its line: keep the first.
      if (severity === 'error' && e.code !== 'DUPLICATE_KEY') {
        if (linesWithErrors.has(pos.line)) continue;
        linesWithErrors.add(pos.line);
      }
      const hint = e.code === 'DUPLICATE_KEY' ? 'remove one of them' : syntaxHint(text, e.pos[0]);
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
  return { source: { display, absolute, text, doc, lines }, errors };
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key may appear once in a mapping';
  // The yaml library appends " at line L, column C" and a code frame; we print our own.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}

/** Fixes for the syntax mistakes pipeline authors make most. */
function syntaxHint(text: string, offset: number): string | undefined {
  const line = text.slice(text.lastIndexOf('\n', offset - 1) + 1, text.indexOf('\n', offset) < 0 ? undefined : text.indexOf('\n', offset));
  if (text.startsWith('${', offset - 1) || text.startsWith('${', offset)) return 'inside { } and [ ], quote values that use ${VAR}: "${VAR}"';
  if (line.includes('\t') && /^\s*\t/.test(line)) return 'indent with spaces; YAML does not allow tabs for indentation';
  return undefined;
}
