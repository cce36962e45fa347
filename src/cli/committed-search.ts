/**
 * The committed search result a command should use (`run`, `lock`, `plan`):
 * the kept nodes while `<pipeline>.search.json` still matches the model and
 * the policy; otherwise a warning and a fresh search, or with `--frozen` an
 * error, since a frozen run must not decide precisions anew.
 */
import path from 'node:path';
import type { Pipeline } from '../config/types.js';
import { modelIdentity } from '../run/model-files.js';
import { readSearchResult, searchResultPath, searchResultStaleness } from '../store/search-result.js';
import { InputError } from '../errors.js';

export interface CommittedSearch {
  towards: string;
  kept: string[];
}

export async function committedSearch(p: Pipeline, opts: { frozen?: boolean; warn: (line: string) => void }): Promise<CommittedSearch | undefined> {
  if (!p.precision.search) return undefined;
  const file = searchResultPath(p.file, p.precision.search.result);
  const r = readSearchResult(file);
  if (!r) return undefined;
  const why = searchResultStaleness(p, r, await modelIdentity(p.model.path));
  if (!why) return { towards: r.towards, kept: r.kept };
  const rel = path.relative(process.cwd(), file) || file;
  const fix = `run \`trtpipe search ${path.relative(process.cwd(), p.file) || p.file}\` and commit ${path.basename(file)}`;
  if (opts.frozen) throw new InputError(`--frozen: ${rel} no longer matches the pipeline: ${why}; ${fix}`);
  opts.warn(`trtpipe: warning: ${rel} no longer matches the pipeline (${why}): ignoring it and searching again; ${fix}`);
  return undefined;
}
