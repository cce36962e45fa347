/**
 * `trtpipe validate [files or folders...] [--json] [--quiet]`: checks pipeline
 * files (all of pipelines/ by default). Prints a status line per file, then
 * every problem with its code frame, then a summary; exit 2 if any has errors.
 */
import { parseArgs } from 'node:util';
import type { Diagnostic } from '../../config/diagnostics.js';
import { loadPipeline } from '../../config/load.js';
import { renderDiagnostics } from '../../config/render.js';
import { ExitCode } from '../exit-codes.js';
import { pipelineFiles } from '../pipeline-files.js';
import { InputError, TrtpipeError } from '../../errors.js';

interface FileResult {
  file: string;
  valid: boolean;
  diagnostics: Diagnostic[];
  /** Set when the file itself could not be read. */
  problem?: string;
}

export default async function validate(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } } });
  } catch (err) {
    throw new InputError(`${(err as Error).message}; usage: trtpipe validate [files or folders...] [--json] [--quiet]`);
  }
  const { values, positionals } = parsed;
  const files = pipelineFiles(positionals.length ? positionals : ['pipelines']);
  if (!files.length || (!positionals.length && files[0] === 'pipelines')) {
    throw new InputError(positionals.length ? 'no pipeline files (*.yaml) found there' : 'no files given and no pipelines/ folder here');
  }
  const results: FileResult[] = [];
  for (const file of files) {
    try {
      const { pipeline, diagnostics } = await loadPipeline(file);
      results.push({ file, valid: pipeline !== undefined, diagnostics });
    } catch (err) {
      if (!(err instanceof TrtpipeError)) throw err;
      results.push({ file, valid: false, diagnostics: [], problem: err.message });
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ files: results }, null, 2)}\n`);
  } else {
    process.stdout.write(report(results, Boolean(values.quiet)));
  }
  return results.every((r) => r.valid) ? ExitCode.Ok : ExitCode.InvalidInput;
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const errorsOf = (r: FileResult) => r.diagnostics.filter((d) => d.severity === 'error').length + (r.problem ? 1 : 0);
const warningsOf = (r: FileResult) => r.diagnostics.filter((d) => d.severity === 'warning').length;

function report(results: FileResult[], quiet: boolean): string {
  const width = Math.max(...results.map((r) => r.file.length));
  const lines: string[] = [];
  for (const r of results) {
    const e = errorsOf(r);
    const w = warningsOf(r);
    if (quiet && !e && !w) continue;
    const status = r.problem ?? (e ? [count(e, 'error'), ...(w ? [count(w, 'warning')] : [])].join(', ') : w ? `ok (${count(w, 'warning')})` : 'ok');
    lines.push(`${r.file.padEnd(width)}  ${status}`);
  }
  const withProblems = results.filter((r) => r.diagnostics.length);
  const details = withProblems.map((r) => renderDiagnostics(r.diagnostics)).join('\n\n');
  const invalid = results.filter((r) => !r.valid).length;
  const errors = results.reduce((n, r) => n + errorsOf(r), 0);
  const warnings = results.reduce((n, r) => n + warningsOf(r), 0);
  const summary = `${count(results.length, 'file')}: ${results.length - invalid} valid${invalid ? `, ${invalid} invalid` : ''}` +
    (errors || warnings ? ` (${[...(errors ? [count(errors, 'error')] : []), ...(warnings ? [count(warnings, 'warning')] : [])].join(', ')})` : '');
  return [lines.join('\n'), details, summary].filter(Boolean).join('\n\n') + '\n';
}
