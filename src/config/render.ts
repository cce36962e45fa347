/**
 * Diagnostics as text: `file:line:col  path: message. hint` and a short code
 * frame with a caret under the column.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from './diagnostics.js';

export function renderDiagnostic(d: Diagnostic, text?: string, cwd = process.cwd()): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const head = `${where}  ${d.severity === 'warning' ? 'warning: ' : ''}${d.path ? `${d.path}: ` : ''}${d.message}${
    d.hint ? `. ${capitalize(d.hint)}` : ''
  }`;
  const src = text ?? tryRead(path.resolve(cwd, d.file));
  return src === undefined ? head : `${head}\n${frame(src, d.line, d.col)}`;
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

/** The line before, the line itself and a caret line. */
export function frame(text: string, line: number, col: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= line; n++) {
    if (lines[n - 1] === undefined) continue;
    out.push(`  ${String(n).padStart(width)} | ${lines[n - 1]}`);
  }
  out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, col - 1))}^`);
  return out.join('\n');
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
