/** Loads a pipeline for a command; prints diagnostics; throws on errors. */
import { loadPipeline } from '../config/load.js';
import { renderDiagnostics } from '../config/render.js';
import type { Pipeline } from '../config/types.js';
import { InputError } from '../errors.js';

export async function loadOrExit(file: string): Promise<Pipeline> {
  const { pipeline, diagnostics } = await loadPipeline(file);
  if (diagnostics.length) process.stderr.write(`${renderDiagnostics(diagnostics)}\n\n`);
  if (!pipeline) {
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    throw new InputError(`${file}: ${n} error${n === 1 ? '' : 's'}; nothing was run`);
  }
  return pipeline;
}
