/**
 * Diagnostics as text: `file:line:col  path: message. Hint.` and a short code
 * frame (the line before, the line, a caret under the column).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './diagnostics.js';

/** The first line of a rendered diagnostic (what the fixture tables assert). */
export function headline(d: Diagnostic, withFile = true): string {
  const where = withFile ? `${d.file}:${d.line}:${d.col}` : `${d.line}:${d.col}`;
  const message = sentence(d.message);
  return `${where}  ${d.severity === 'warning' ? 'warning: ' : ''}${d.path ? `${d.path}: ` : ''}${message}${d.hint ? ` ${sentence(capitalize(d.hint))}` : ''}`;
}

export function renderDiagnostic(d: Diagnostic, text?: string, cwd = process.cwd()): string {
  const src = text ?? tryRead(path.resolve(cwd, d.file));
  return src === undefined ? headline(d) : `${headline(d)}\n${frame(src, d.line, d.col)}`;
}

export function renderDiagnostics(ds: Diagnostic[], cwd = process.cwd()): string {
  const texts = new Map<string, string | undefined>();
  return ds
    .map((d) => {
      if (!texts.has(d.file)) texts.set(d.file, tryRead(path.resolve(cwd, d.file)));
      return renderDiagnostic(d, texts.get(d.file), cwd);
    })
    .join('\n\n');
}

/** Columns of a source line shown around the caret; longer lines are cut, with … where they are. */
const FRAME_COLUMNS = 120;

/** The line before (when there is one), the line itself and a caret line. */
export function frame(text: string, line: number, col: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const at = Math.max(0, col - 1);
  // A window of FRAME_COLUMNS around the column, the same for both lines (they stay aligned).
  const from = Math.max(0, Math.min(at - FRAME_COLUMNS / 2, (lines[line - 1] ?? '').length - FRAME_COLUMNS));
  const clip = (l: string) => (from > 0 ? '…' : '') + l.slice(from, from + FRAME_COLUMNS) + (l.length > from + FRAME_COLUMNS ? '…' : '');
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= line; n++) {
    const l = lines[n - 1];
    if (l === undefined || (n < line && !l.trim())) continue;
    // A line before that ends left of the window is context only: shown whole.
    out.push(`  ${String(n).padStart(width)} | ${visible(n < line && l.length <= from ? l : clip(l))}`);
  }
  // Tabs in the line stay tabs under it, so the caret lines up in any terminal.
  const lead = ((from > 0 ? ' ' : '') + (lines[line - 1] ?? '').slice(from, at)).replace(/[^\t]/g, ' ');
  out.push(`  ${' '.repeat(width)} | ${lead}^`);
  return out.join('\n');
}

/** Control characters (garbage bytes) would scramble the terminal: show them escaped. */
function visible(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Capitalizes a leading plain word, never an identifier such as `name_regex` or `data.evaluation`. */
function capitalize(s: string): string {
  return /^[a-z]+(?![\w.:([])/.test(s) ? s.charAt(0).toUpperCase() + s.slice(1) : s;
}

/** Ends a sentence with a full stop unless it ends in punctuation already. */
function sentence(s: string): string {
  return /[.?!]$/.test(s) ? s : `${s}.`;
}
