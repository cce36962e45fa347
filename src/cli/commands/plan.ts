/**
 * `trtpipe plan <pipeline.yaml> [--state-dir DIR] [--json]`: what `run` would
 * do, without starting a runner: the expanded cells, their stage graph in
 * execution order, each stage's content key and whether it is already cached.
 * Target identities (part of the keys) come from the newest run that used the
 * target; without one, keys that depend on it are unknown until the runner is
 * asked.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Pipeline } from '../../config/types.js';
import { stageStatuses, type StageStatus } from '../../plan/cache-status.js';
import type { StageGraph } from '../../plan/graph.js';
import { keyedGraph } from '../../run/keyed-graph.js';
import { targetIdentity } from '../../plan/target-identity.js';
import { cacheDir, isCached } from '../../store/cache-lookup.js';
import { lastRunners, type PastRunner } from '../../store/run-history.js';
import { stateDir } from '../../store/state-dir.js';
import { committedSearch } from '../committed-search.js';
import { ExitCode } from '../exit-codes.js';
import { loadOrExit } from '../load-or-exit.js';
import { InputError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';

const USAGE = 'usage: trtpipe plan <pipeline.yaml> [--state-dir DIR] [--json]';

export default async function plan(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { 'state-dir': { type: 'string' }, json: { type: 'boolean' } } });
  } catch (err) {
    throw new InputError(`${(err as Error).message}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new InputError(USAGE);
  const file = positionals[0]!;
  const p = await loadOrExit(file);
  const stateRoot = stateRootOf(values['state-dir']);
  const searchKeep = await committedSearch(p, { warn: (l) => process.stderr.write(`${l}\n`) });
  // Target identities (part of the keys) from the newest run that used each target.
  const past = lastRunners(stateDir(stateRoot).runs, p.targets.map((t) => t.name));
  const identity = new Map([...past].map(([name, r]) => [name, targetIdentity(p.targets.find((t) => t.name === name)!, r.facts)]));
  // The same path as a run: the same graph, the same input hashes (data folders and synthetic
  // data included), so the same keys.
  const { graph, files, keys } = await keyedGraph(p, { ...(searchKeep ? { searchKeep } : {}), tmpDir: path.join(stateRoot, 'tmp'), identities: identity });
  const statuses = stageStatuses(graph, {
    keys,
    knownTargets: new Set(identity.keys()),
    hashedFiles: new Set(files.keys()),
    isCached: (key) => isCached(stateRoot, key),
  });

  if (values.json) {
    process.stdout.write(`${JSON.stringify(asJson(p, graph, statuses, past), null, 2)}\n`);
  } else {
    process.stdout.write(render(file, p, graph, statuses, past, stateRoot));
  }
  return ExitCode.Ok;
}

function asJson(p: Pipeline, graph: StageGraph, statuses: Map<string, StageStatus>, past: Map<string, PastRunner>) {
  return {
    pipeline: p.name,
    file: p.file,
    cells: graph.cells,
    stages: graph.nodes.map((n) => ({ id: n.id, stage: n.stage, target: n.target, cells: n.cells, after: n.deps, ...statuses.get(n.id)! })),
    identities: Object.fromEntries(p.targets.map((t) => [t.name, past.has(t.name) ? { fromRun: past.get(t.name)!.runId } : null])),
  };
}

const STATUS_WORDS: Record<StageStatus['status'], string> = {
  cached: 'cached',
  'to-run': 'to run',
  unknown: 'unknown',
  'not-cacheable': 'not cacheable',
};

function render(file: string, p: Pipeline, graph: StageGraph, statuses: Map<string, StageStatus>, past: Map<string, PastRunner>, stateRoot: string): string {
  const out: string[] = [];
  out.push(`${file}: pipeline ${p.name}, ${graph.cells.length} cell${graph.cells.length === 1 ? '' : 's'}, ${graph.nodes.length} stages`);
  out.push('', 'cells');
  const batched = graph.cells.some((c) => c.batch !== undefined);
  out.push(...table(graph.cells.map((c) => {
    const t = p.targets.find((x) => x.name === c.target)!;
    return [c.name, c.precision, c.target, ...(batched ? [c.batch !== undefined ? `batch ${c.batch}` : ''] : []), `(${t.backend}, ${t.runners.join(' ')})`];
  })));
  out.push('', 'stages, in execution order');
  const rows = graph.nodes.map((n) => {
    const s = statuses.get(n.id)!;
    const key = 'key' in s ? s.key.slice(0, 12) : '-';
    const note = s.status === 'unknown' ? s.reason : 'reason' in s ? `${STATUS_WORDS[s.status]}: ${s.reason}` : STATUS_WORDS[s.status];
    return [n.id, n.target, n.deps.join(', '), key, note];
  });
  out.push(...table([['stage', 'runs on', 'after', 'key', 'cache'], ...rows]));
  out.push('');
  for (const t of [...new Set(graph.nodes.map((n) => n.target))]) {
    const r = past.get(t);
    out.push(r
      ? `target ${t}: identity from run ${r.runId} (runner ${r.facts.runnerVersion})`
      : `target ${t}: no past run used it; keys that depend on its runner are unknown until the runner is asked`);
  }
  const counts = { cached: 0, 'to-run': 0, unknown: 0, 'not-cacheable': 0 };
  for (const s of statuses.values()) counts[s.status] += 1;
  const rel = path.relative(process.cwd(), cacheDir(stateRoot)) || cacheDir(stateRoot);
  out.push(existsSync(cacheDir(stateRoot))
    ? `cache ${rel}: ${counts.cached} of ${graph.nodes.length} stages cached, ${counts['to-run']} to run, ${counts.unknown} unknown${counts['not-cacheable'] ? `, ${counts['not-cacheable']} not cacheable` : ''}`
    : `cache ${rel}: none yet; every stage will run`);
  return `${out.join('\n')}\n`;
}

/** Left-aligned columns, two spaces apart; trailing empty cells trimmed. */
function table(rows: string[][]): string[] {
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}
