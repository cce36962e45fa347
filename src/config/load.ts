/**
 * Loading a pipeline: parse with positions (and `${VAR}`s, and `extends`) ->
 * schema check -> normalize (defaults) -> semantic rules. Errors and warnings
 * come back as data; nothing here prints or exits.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { PIPELINE_FILE_LIMIT, readUserText } from '../user-files.js';
import { type Diagnostic, showPath, sortDiagnostics } from './diagnostics.js';
import { PipelineDocument } from './document.js';
import { loadChain } from './extends.js';
import type { Env } from './interpolate.js';
import { normalize } from './normalize.js';
import { checkSchema } from './schema-check.js';
import { checkSemantics } from './semantic.js';
import type { Pipeline, PipelineFile } from './types.js';

export interface LoadResult {
  /** Present when there are no errors. */
  pipeline?: Pipeline;
  /** Errors and warnings, sorted by file and position. */
  diagnostics: Diagnostic[];
}

export interface LoadOptions {
  /** Folder relative paths and file names in messages are taken from (default: process.cwd()). */
  cwd?: string;
  /** Variables for `${VAR}` (default: process.env). */
  env?: Env;
}

/**
 * Loads and validates a pipeline file.
 * @param file path as the user gave it
 * @throws InputError if the file does not exist or cannot be read
 */
export async function loadPipeline(file: string, opts: LoadOptions | string = {}): Promise<LoadResult> {
  const o = typeof opts === 'string' ? { cwd: opts } : opts;
  const cwd = o.cwd ?? process.cwd();
  const absolute = path.resolve(cwd, file);
  if (existsSync(absolute) && statSync(absolute).isDirectory()) throw new InputError(`${file} is a folder; give a pipeline .yaml file`);
  // Limited before parsing: the YAML parser holds many times the text's size in memory.
  const text = readUserText(absolute, 'pipeline file', PIPELINE_FILE_LIMIT, file);
  return loadPipelineText(text, absolute, o);
}

/**
 * Loads pipeline text as if it were the file at `absolute` (tests and fuzzing
 * use this; `extends` and relative paths resolve from `absolute`'s folder).
 */
export function loadPipelineText(text: string, absolute: string, opts: LoadOptions = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const display = showPath(cwd, absolute);
  const chain = loadChain(text, absolute, display, opts.env ?? process.env, cwd);
  if (!chain.tree) return { diagnostics: sortDiagnostics(chain.diagnostics) };
  const doc = new PipelineDocument(chain.tree);
  // A value already reported (an unset ${VAR}) is not reported again by the schema.
  const reported = new Set(chain.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}|${d.path}`));
  const schemaErrors = checkSchema(doc).filter((d) => !reported.has(`${d.file}|${d.path}`));
  if (reported.size || schemaErrors.length) return { diagnostics: sortDiagnostics([...chain.diagnostics, ...schemaErrors]) };
  const raw = doc.value as unknown as PipelineFile;
  const pipeline = normalize(raw, doc, absolute, chain.files.slice(1).map((f) => f.absolute));
  const diagnostics = sortDiagnostics([...chain.diagnostics, ...checkSemantics(raw, pipeline, doc, cwd)]);
  return diagnostics.some((d) => d.severity === 'error') ? { diagnostics } : { pipeline, diagnostics };
}
