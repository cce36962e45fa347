/**
 * A committed precision-search result, `<pipeline>.search.json` beside the
 * pipeline (or precision.search.result): which nodes the search kept in
 * fp32, for which model, policy, precision and budget. `trtpipe run` and
 * `trtpipe lock` use it instead of searching again while it still matches.
 */
import { existsSync } from 'node:fs';
import { RECORD_FILE_LIMIT, readUserText } from '../user-files.js';
import { InputError } from '../errors.js';
import type { Pipeline } from '../config/types.js';
import { PRECISION_INFO } from '../gen/contract/vocabulary.js';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import { writeFileAtomic } from './atomic.js';

export const SEARCH_SCHEMA = 'trtpipe.search/1';

export interface SearchResult {
  schema: typeof SEARCH_SCHEMA;
  pipeline: string;
  model: { sha256: string };
  /** What the answer depends on besides the model (searchPolicySha); absent in results of older versions. */
  policy?: { sha256: string };
  towards: string;
  budget: Record<string, number>;
  kept: string[];
  evaluations: number;
  low_nodes_share: number;
  low_flops_share: number;
  sensitivity: Record<string, number>;
  rules_yaml: string;
  /** Per resolved precision of the graph the run builds: nodes, share of float nodes, share of FLOPs. */
  shares?: Record<string, { nodes: number; node_share: number; flops: number }>;
  /** Set when the evaluation cap stopped the search: the answer meets the budget but may not be minimal. */
  capped?: { at_least: number; untried: string[] };
}

export function searchResultPath(pipelineFile: string, explicit?: string): string {
  return explicit ?? pipelineFile.replace(/\.ya?ml$/, '') + '.search.json';
}

export function readSearchResult(file: string): SearchResult | undefined {
  if (!existsSync(file)) return undefined;
  let r: SearchResult;
  try {
    r = JSON.parse(readUserText(file, 'search result', RECORD_FILE_LIMIT)) as SearchResult;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: not a readable search result (${(err as Error).message}); run \`trtpipe search\` again`);
  }
  if (r?.schema !== SEARCH_SCHEMA)
    throw new InputError(`${file}: unknown search result schema ${String(r?.schema)}; run \`trtpipe search\` again`);
  return r;
}

export async function writeSearchResult(file: string, r: SearchResult): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(r, null, 2)}\n`);
}

/**
 * The hash of everything besides the model that decides a search's answer:
 * the policy the search applies (precision searched towards, io, opset, rules
 * without their `why`, safety rules), the budget, and for int8/fp8 the
 * calibration and precision.unquantized. A change to any of them makes a committed result stale.
 */
export function searchPolicySha(p: Pipeline): string {
  const s = p.precision.search;
  const quantized = s !== undefined && PRECISION_INFO[s.towards].kind === 'quantized';
  return sha256Hex(
    canonicalJson({
      towards: s?.towards,
      budget: s?.budget,
      io: p.precision.io,
      opset: p.precision.opset,
      rules: p.precision.rules.map((r) => ({ match: r.match, use: r.use })),
      safety: p.precision.safety,
      ...(quantized ? { calibration: p.calibration, unquantized: p.precision.unquantized } : {}),
    }),
  );
}

/** Why a committed result no longer answers this pipeline; undefined while it does. */
export function searchResultStaleness(p: Pipeline, r: SearchResult, modelSha: string): string | undefined {
  if (r.model.sha256 !== modelSha) return 'it was made for another model';
  if (r.towards !== p.precision.search?.towards)
    return `it searched towards ${r.towards}, the pipeline towards ${p.precision.search?.towards}`;
  if (!r.policy) return 'it was made by an older trtpipe that did not record the policy';
  if (r.policy.sha256 !== searchPolicySha(p))
    return 'the precision policy changed since (rules, safety rules, budget, io, opset or calibration)';
  return undefined;
}
