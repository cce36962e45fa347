/**
 * `trtpipe search <pipeline.yaml>`: run the accuracy-budgeted precision search
 * on its own and write `<pipeline>.search.json` (commit it: `trtpipe run`
 * and `trtpipe lock` then use it without searching again). Prints the kept
 * nodes, the shares of the graph the run will build, and a rules block to
 * paste into the pipeline instead, if preferred.
 */
import path from 'node:path';
import { modelIdentity } from '../../run/model-files.js';
import { fmtSimilarity } from '../../report/format.js';
import { SEARCH_SCHEMA, searchPolicySha, searchResultPath, writeSearchResult, type SearchResult } from '../../store/search-result.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { loadOrExit } from '../load-or-exit.js';
import { runOnly } from '../run-only.js';
import { InputError } from '../../errors.js';
import type { SearchDetails } from '../../gen/contract/stages.js';
import { stateRootOf } from '../state-root.js';

export default async function search(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: {
      'state-dir': { type: 'string' },
      python: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      'no-cache': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new InputError('usage: trtpipe search <pipeline.yaml>');
  const pipeline = await loadOrExit(positionals[0]!);
  const cfg = pipeline.precision.search;
  if (!cfg) throw new InputError(`${positionals[0]} has no precision.search section (budget, towards, ...)`);
  if (!pipeline.matrix.precision.includes(cfg.towards as never)) {
    throw new InputError(`precision.search.towards is ${cfg.towards}, which the matrix never runs; add it to matrix.precision`);
  }
  const ran = await runOnly(pipeline, (n) => n.stage === 'search', {
    stateRoot: stateRootOf(values['state-dir']),
    python: values.python,
    verbose: Boolean(values.verbose),
    useCache: !values['no-cache'],
  });
  if (typeof ran === 'number') return ran;
  const { record } = ran;
  // The search stage's details, as the contract declares them (search.schema.json).
  const d = record.stages.search!.details as unknown as SearchDetails;
  const result: SearchResult = {
    schema: SEARCH_SCHEMA,
    pipeline: pipeline.name,
    model: { sha256: await modelIdentity(pipeline.model.path) },
    policy: { sha256: searchPolicySha(pipeline) },
    towards: d.towards,
    budget: present(d.budget),
    kept: d.kept,
    evaluations: d.evaluations,
    low_nodes_share: d.low_nodes_share,
    low_flops_share: d.low_flops_share,
    shares: present(d.shares),
    ...(d.exhausted ? { capped: { at_least: d.at_least, untried: d.untried } } : {}),
    sensitivity: present(d.sensitivity),
    rules_yaml: d.rules_yaml,
  };
  const file = searchResultPath(pipeline.file, cfg.result);
  await writeSearchResult(file, result);
  process.stdout.write(
    `${describeSearch(d, cfg.max_evaluations).join('\n')}\n${[
      `wrote ${path.relative(process.cwd(), file) || file}: commit it, and \`trtpipe run\` and \`trtpipe lock\` use it without searching again.`,
      'Or paste this into precision.rules instead:',
      result.rules_yaml,
    ].join('\n')}\n`,
  );
  return ExitCode.Ok;
}

/** A contract map (its values typed possibly undefined) as the plain record it is on the wire. */
function present<T>(o: { [k: string]: T | undefined }): Record<string, T> {
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, T] => e[1] !== undefined));
}

function describeSearch(d: SearchDetails, cap: number): string[] {
  const cos = (m: Record<string, number | undefined>) =>
    `cosine ${fmtSimilarity(m.cosine)}${m.nonfinite ? `, ${m.nonfinite} NaN/Inf` : ''}`;
  const fixed = Object.entries(d.fixed ?? {});
  const totalNodes = Object.values(d.shares).reduce((s, x) => s + (x?.nodes ?? 0), 0);
  const out = [
    `search towards ${d.towards}, budget ${Object.entries(d.budget)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} (evaluator: ${d.evaluator})`,
    `  every candidate in ${d.towards}: ${cos(d.blanket_metrics)}: ${d.trace[0]?.passes ? 'meets the budget' : 'misses the budget'}`,
    ...(d.strategy === 'ranked' && d.localize?.measured !== undefined
      ? [
          `  candidates ranked by measured impact (${d.localize.measured} of ${d.candidates} measured on ${d.localize.samples} samples${d.localize.cached ? ', from the cache' : `, ${(d.localize.seconds ?? 0).toFixed(1)} s`})`,
        ]
      : d.localize?.error
        ? [`  no impact ranking (${d.localize.error}): bisection in graph order`]
        : []),
    ...(fixed.length
      ? [
          `  the policy itself keeps ${fixed.reduce((s, [, n]) => s + (n ?? 0), 0)} more node(s) out of ${d.towards} (${fixed.map(([r, n]) => `${r} ${n}`).join(', ')}); they are not candidates`,
        ]
      : []),
    `  kept in fp32: ${d.kept_candidates} of ${d.candidates} candidate nodes${d.kept.length > d.kept_candidates ? ` (and ${d.kept.length - d.kept_candidates} node(s) that only move their values: they follow them)` : ''}`,
    ...d.kept.map(
      (n) => `    ${n}${d.sensitivity[n] !== undefined ? `   (cosine loss if lowered: ${d.sensitivity[n]!.toExponential(2)})` : ''}`,
    ),
  ];
  if (d.exhausted) {
    out.push(
      `  evaluation cap (${cap}) reached: this set meets the budget but may not be minimal; a minimal set keeps at least ${d.at_least} node(s)` +
        `${d.untried.length ? `, and ${d.untried.length} of the kept nodes were not tried in ${d.towards} again` : ''} (raise precision.search.max_evaluations to get closer)`,
    );
  }
  out.push(
    `  result: ${cos(d.metrics)}`,
    `  what the run builds: ${Object.entries(d.shares)
      .map(
        ([p, x]) => `${p} ${x!.nodes}/${totalNodes} nodes (${(100 * x!.node_share).toFixed(1)}%), ${(100 * x!.flops).toFixed(1)}% of FLOPs`,
      )
      .join('; ')}`,
    `  ${d.evaluations} candidate evaluations (${d.lookups} lookups), ${d.seconds.toFixed(1)} s`,
  );
  return out;
}
