import { relative } from 'node:path';

/**
 * Problems found in a pipeline file, as data: the CLI renders them, tests
 * assert them. Positions are 1-based.
 */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Stable identifier, e.g. `unknown-key`, `enum`, `yaml-syntax`, `unknown-target`. */
  code: string;
  /** The file as the user named it (or relative to the working directory). */
  file: string;
  line: number;
  col: number;
  /** Key path in the document, e.g. `precision.rules[0].use` ('' for the root). */
  path: string;
  /** What is wrong. */
  message: string;
  /** How to fix it, when we know. */
  hint?: string;
}

/** A key path as segments: strings for mapping keys, numbers for list items. */
export type KeyPath = (string | number)[];

export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

/** Sorts by file, line, column; errors before warnings at the same spot. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.col - b.col ||
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
      a.message.localeCompare(b.message),
  );
}

/** Thrown by loadPipeline when the file has errors; carries all of them. */
export class PipelineError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`${diagnostics.filter((d) => d.severity === 'error').length} error(s) in pipeline`);
    this.name = 'PipelineError';
  }
}

/**
 * A path as messages show it: relative to `cwd` (even through ..), unless the
 * two share no top-level folder (a file under /tmp seen from /work), where the
 * absolute path is clearer.
 */
export function showPath(cwd: string, file: string): string {
  const top = (f: string) => f.split(/[\\/]/)[1];
  if (top(cwd) !== top(file)) return file;
  return relative(cwd, file) || '.';
}
