/** `trtpipe explain [run] [cell]`: what precision each node asked for, got and really ran in. */
import { parseArgs } from 'node:util';
import { explainCell, type CellExplain } from '../../report/explain.js';
import { findRun } from '../../store/runs.js';
import { ExitCode } from '../exit-codes.js';
import { UserError } from '../user-error.js';
import { stateRootOf } from '../state-root.js';

export default async function explain(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, all: { type: 'boolean', short: 'a' }, json: { type: 'boolean' } },
  });
  const stateRoot = stateRootOf(values['state-dir']);
  let [runRef, cellRef] = positionals.map((p) => p || undefined);
  let found;
  try {
    found = findRun(stateRoot, runRef);
  } catch (err) {
    // `trtpipe explain fp16-cpu`: a cell of the newest run.
    const newest = runRef !== undefined && cellRef === undefined ? findRun(stateRoot) : undefined;
    if (!newest?.record.cells.some((c) => c.id === runRef || c.name === runRef)) throw err;
    found = newest;
    [cellRef, runRef] = [runRef, undefined];
  }
  const { record } = found;
  const cells = cellRef ? [cellRef] : record.cells.map((c) => c.id);
  const out: CellExplain[] = [];
  for (const id of cells) {
    const e = explainCell(record, id);
    if (!e) throw new UserError(`run ${record.id} has no cell '${id}' (cells: ${record.cells.map((c) => c.id).join(', ')})`);
    out.push(e);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return ExitCode.Ok;
  }
  for (const e of out) process.stdout.write(`${render(e, Boolean(values.all))}\n`);
  return ExitCode.Ok;
}

function render(e: CellExplain, all: boolean): string {
  // By default only the rows worth reading: nodes not in the requested precision.
  const rows = all ? e.rows : e.rows.filter((r) => r.realized !== r.requested && r.resolved !== '-');
  const header = ['node', 'op', 'requested', 'resolved', 'realized', 'reason'];
  const table = rows.map((r) => [r.node, r.op, r.requested, r.resolved, r.realized, r.reason]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((t) => t[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const totalNodes = e.rows.filter((r) => r.resolved !== '-').length;
  const totalFlops = e.rows.reduce((s, r) => s + r.flops, 0) || 1;
  const shareLine = (label: string, s: Record<string, [number, number]>) =>
    `  ${label.padEnd(9)} ${Object.entries(s)
      .filter(([p]) => p !== '-')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, [n, f]]) => `${p} ${n}/${totalNodes} nodes, ${((100 * f) / totalFlops).toFixed(1)}% FLOPs`)
      .join('; ')}`;
  const parts = [`${e.cell}`, shareLine('resolved', e.resolvedShare), shareLine('realized', e.realizedShare)];
  if (rows.length) {
    parts.push('', line(header), line(widths.map((w) => '-'.repeat(w))), ...table.map(line));
    const details = rows.filter((r) => r.reason.startsWith('NO_KERNEL') || r.reason.includes('OVERFLOW')).slice(0, 3);
    for (const r of details) if (r.detail) parts.push(`  ${r.node}: ${r.detail}`);
  } else {
    parts.push('  every node runs in the precision it asked for');
  }
  if (!all) parts.push(`  (${e.rows.length - rows.length} nodes as requested; --all lists every node)`);
  return parts.join('\n') + '\n';
}
