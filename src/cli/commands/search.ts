/**
 * `trtpipe search <pipeline.yaml>`: run the accuracy-budgeted precision search
 * on its own and write `<pipeline>.search.json` (commit it: `trtpipe run`
 * then uses it without searching again). Prints the kept nodes and a rules
 * block to paste into the pipeline instead, if preferred.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { modelIdentity } from '../../run/model-files.js';
import { SEARCH_SCHEMA, searchResultPath, writeSearchResult, type SearchResult } from '../../store/search-result.js';
import { ExitCode } from '../exit-codes.js';
import { loadOrExit } from '../load-or-exit.js';
import { runOnly } from '../run-only.js';
import { UserError } from '../user-error.js';
import { stateRootOf } from '../state-root.js';

export default async function search(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, python: { type: 'string' }, verbose: { type: 'boolean', short: 'v' }, 'no-cache': { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UserError('usage: trtpipe search <pipeline.yaml>');
  const pipeline = await loadOrExit(positionals[0]!);
  const cfg = pipeline.precision.search;
  if (!cfg) throw new UserError(`${positionals[0]} has no precision.search section (budget, towards, ...)`);
  if (!pipeline.matrix.precision.includes(cfg.towards as never)) {
    throw new UserError(`precision.search.towards is ${cfg.towards}, which the matrix never runs; add it to matrix.precision`);
  }
  const ran = await runOnly(pipeline, (n) => n.stage === 'search', {
    stateRoot: stateRootOf(values['state-dir']),
    python: values.python,
    verbose: Boolean(values.verbose),
    useCache: !values['no-cache'],
  });
  if (typeof ran === 'number') return ran;
  const { record } = ran;
  const d = record.stages.search!.details as Record<string, unknown>;
  const result: SearchResult = {
    schema: SEARCH_SCHEMA,
    pipeline: pipeline.name,
    model: { sha256: await modelIdentity(pipeline.model.path) },
    towards: d.towards as string,
    budget: d.budget as Record<string, number>,
    kept: d.kept as string[],
    evaluations: d.evaluations as number,
    low_nodes_share: d.low_nodes_share as number,
    low_flops_share: d.low_flops_share as number,
    sensitivity: d.sensitivity as Record<string, number>,
    rules_yaml: d.rules_yaml as string,
  };
  const file = searchResultPath(pipeline.file, cfg.result);
  await writeSearchResult(file, result);
  const m = d.metrics as Record<string, number>;
  const blanket = d.blanket_metrics as Record<string, number>;
  const out = [
    `search towards ${result.towards}, budget ${Object.entries(result.budget).map(([k, v]) => `${k} ${v}`).join(', ')} (evaluator: ${String(d.evaluator)})`,
    `  everything ${result.towards}: cosine ${blanket.cosine!.toFixed(6)}${blanket.nonfinite ? `, ${blanket.nonfinite} NaN/Inf` : ''}: ${(d.trace as { passes: boolean }[])[0]?.passes ? 'meets the budget' : 'misses the budget'}`,
    `  kept in fp32: ${result.kept.length} of ${String(d.candidates)} candidate nodes${d.exhausted ? ' (evaluation cap reached: the set meets the budget but may not be minimal)' : ''}`,
    ...result.kept.map((n) => `    ${n}${result.sensitivity[n] !== undefined ? `   (cosine loss if lowered: ${result.sensitivity[n]!.toExponential(2)})` : ''}`),
    `  result: cosine ${m.cosine!.toFixed(6)}; ${(100 * result.low_nodes_share).toFixed(0)}% of nodes and ${(100 * result.low_flops_share).toFixed(1)}% of FLOPs in ${result.towards}`,
    `  ${result.evaluations} candidate evaluations (${String(d.lookups)} lookups), ${(d.seconds as number).toFixed(1)} s`,
    `wrote ${path.relative(process.cwd(), file) || file}: commit it, and \`trtpipe run\` uses it without searching again.`,
    'Or paste this into precision.rules instead:',
    result.rules_yaml,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return ExitCode.Ok;
}
