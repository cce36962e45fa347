/** Loads a pipeline for a command; prints diagnostics; throws on errors. */
import { loadPipeline } from '../config/load.js';
import { renderDiagnostics } from '../config/render.js';
import type { Pipeline } from '../config/types.js';
import { ExitCode } from './exit-codes.js';
import { UserError } from './user-error.js';

export async function loadOrExit(file: string): Promise<Pipeline> {
  const { pipeline, diagnostics } = await loadPipeline(file);
  if (diagnostics.length) process.stderr.write(`${renderDiagnostics(diagnostics)}\n\n`);
  if (!pipeline) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    throw new UserError(`${file}: ${n} error${n === 1 ? '' : 's'}; nothing was run`, ExitCode.InvalidInput);
  }
  return pipeline;
}
