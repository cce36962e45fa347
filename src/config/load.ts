/**
 * Loading a pipeline: parse with positions -> schema check -> normalize
 * (defaults) -> semantic rules. Errors and warnings come back as data.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../cli/user-error.js';
import { type Diagnostic, sortDiagnostics } from './diagnostics.js';
import { normalize } from './normalize.js';
import { checkSchema } from './schema-check.js';
import { checkSemantics } from './semantic.js';
import { readSource } from './source.js';
import type { Pipeline } from './types.js';

export interface LoadResult {
  /** Present when there are no errors. */
  pipeline?: Pipeline;
  diagnostics: Diagnostic[];
}

/**
 * Loads and validates a pipeline file.
 * @param file path as the user gave it
 * @param cwd folder relative paths are resolved from (default: process.cwd())
 * @throws UserError if the file does not exist or cannot be read
 */
export async function loadPipeline(file: string, cwd = process.cwd()): Promise<LoadResult> {
  const absolute = path.resolve(cwd, file);
  if (!existsSync(absolute)) throw new UserError(`pipeline file not found: ${file}`);
  if (statSync(absolute).isDirectory()) throw new UserError(`${file} is a folder; give a pipeline .yaml file`);
  const display = path.relative(cwd, absolute) || file;
  const { source, errors } = await readSource(absolute, display);
  if (errors.some((e) => e.severity === 'error')) return { diagnostics: sortDiagnostics(errors) };
  const raw = source.doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      diagnostics: [{ severity: 'error', code: 'not-a-mapping', file: display, line: 1, col: 1, path: '',
        message: 'a pipeline file must be a YAML mapping (key: value pairs)', hint: 'start from `trtpipe init <model.onnx>`' }],
    };
  }
  const schemaErrors = checkSchema(raw, source);
  if (schemaErrors.length) return { diagnostics: sortDiagnostics([...errors, ...schemaErrors]) };
  const pipeline = normalize(raw as Record<string, unknown>, absolute);
  const semantic = checkSemantics(raw as Record<string, unknown>, pipeline, source);
  const diagnostics = sortDiagnostics([...errors, ...semantic]);
  return diagnostics.some((d) => d.severity === 'error') ? { diagnostics } : { pipeline, diagnostics };
}
