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
  for (const [severity, list] of [['error', doc.errors], ['warning', doc.warnings]] as const) {
    for (const e of list) {
      const pos = lines.linePos(e.pos[0]);
      errors.push({
        severity,
        code: e.code === 'DUPLICATE_KEY' ? 'duplicate-key' : 'yaml-syntax',
        file: display,
        line: pos.line,
        col: pos.col,
        path: '',
        message: yamlMessage(e.code, e.message),
        ...(e.code === 'DUPLICATE_KEY' ? { hint: 'remove one of them' } : {}),
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
