/**
 * A committed precision-search result, `<pipeline>.search.json` beside the
 * pipeline (or precision.search.result): which nodes the search kept in
 * fp32, for which model, precision and budget. `trtpipe run` uses it
 * instead of searching again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

export const SEARCH_SCHEMA = 'trtpipe.search/1';

export interface SearchResult {
  schema: typeof SEARCH_SCHEMA;
  pipeline: string;
  model: { sha256: string };
  towards: string;
  budget: Record<string, number>;
  kept: string[];
  evaluations: number;
  low_nodes_share: number;
  low_flops_share: number;
  sensitivity: Record<string, number>;
  rules_yaml: string;
}

export function searchResultPath(pipelineFile: string, explicit?: string): string {
  return explicit ?? pipelineFile.replace(/\.ya?ml$/, '') + '.search.json';
}

export function readSearchResult(file: string): SearchResult | undefined {
  if (!existsSync(file)) return undefined;
  const r = JSON.parse(readFileSync(file, 'utf8')) as SearchResult;
  if (r.schema !== SEARCH_SCHEMA) throw new Error(`${file}: unknown search result schema ${String(r.schema)}`);
  return r;
}

export async function writeSearchResult(file: string, r: SearchResult): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(r, null, 2)}\n`);
}
