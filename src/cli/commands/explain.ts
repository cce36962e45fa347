/** `trtpipe explain [run] [cell]`: what precision each node asked for, got and really ran in. */
import { explainCell, type CellExplain } from '../../report/explain.js';
import { cellErrors, type CellErrors } from '../../report/node-errors.js';
import { renderErrors } from '../../report/node-errors-text.js';
import { readRunRecord, resolveRun } from '../../store/run-ref.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { InputError, TrtpipeError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';
import type { RunRecord } from '../../gen/schema/run-record.js';

const USAGE = 'usage: trtpipe explain [run] [cell] [--errors] [--all] [--json] [--state-dir DIR]; <run>: a run id or a unique prefix, latest, a run folder or a run.json (default: latest)';

export default async function explain(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, all: { type: 'boolean', short: 'a' }, json: { type: 'boolean' }, errors: { type: 'boolean' } },
  });
  if (positionals.length > 2) throw new InputError(USAGE);
  const stateRoot = stateRootOf(values['state-dir']);
  const { record, cellRef } = await runAndCell(stateRoot, positionals[0] || undefined, positionals[1] || undefined);
  const cells = cellRef ? [cellRef] : record.cells.map((c) => c.id);
  if (values.errors) return explainErrors(record, cells, cellRef, Boolean(values.all), Boolean(values.json));
  const out: CellExplain[] = [];
  for (const id of cells) {
    const e = explainCell(record, id);
    if (!e) throw new InputError(`run ${record.id} has no cell '${id}' (cells: ${record.cells.map((c) => c.id).join(', ')})`);
    out.push(e);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return ExitCode.Ok;
  }
  for (const e of out) process.stdout.write(`${render(e, Boolean(values.all))}\n`);
  return ExitCode.Ok;
}

/** `--errors`: per node, how far each localized cell is from FP32 (the localize stage). */
function explainErrors(record: RunRecord, cells: string[], cellRef: string | undefined, all: boolean, json: boolean): number {
  for (const id of cells) {
    if (!record.cells.some((c) => c.id === id || c.name === id)) {
      throw new InputError(`run ${record.id} has no cell '${id}' (cells: ${record.cells.map((c) => c.id).join(', ')})`);
    }
  }
  const found = cells.map((id) => cellErrors(record, id)).filter((e): e is CellErrors => e !== undefined);
  if (!found.length) {
    const which = cellRef ? `cell '${cellRef}' of run ${record.id}` : `run ${record.id}`;
    throw new InputError(`${which} has no per-node errors: add \`evaluate: { localize: true }\` to the pipeline and run it again (fp32 cells are never localized)`);
  }
  // JSON has no Infinity: non-finite numbers as the runner writes them ("inf", "-inf", "nan").
  const finite = (_: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : v);
  process.stdout.write(json ? `${JSON.stringify(found, finite, 2)}\n` : found.map((e) => renderErrors(e, all)).join('\n'));
  return ExitCode.Ok;
}

/**
 * `explain`, `explain <run>`, `explain <cell>` (a cell of the latest run) and
 * `explain <run> <cell>`; runs are resolved as `trtpipe report` resolves them.
 */
async function runAndCell(stateRoot: string, first?: string, second?: string): Promise<{ record: RunRecord; cellRef?: string }> {
  if (first === undefined) return { record: await readRunRecord((await resolveRun('latest', stateRoot)).file) };
  try {
    return { record: await readRunRecord((await resolveRun(first, stateRoot)).file), ...(second ? { cellRef: second } : {}) };
  } catch (err) {
    if (!(err instanceof TrtpipeError) || second !== undefined) throw err;
    const latest = await resolveRun('latest', stateRoot).catch(() => undefined);
    const record = latest && (await readRunRecord(latest.file));
    if (!record?.cells.some((c) => c.id === first || c.name === first)) throw err;
    return { record, cellRef: first };
  }
}

function render(e: CellExplain, all: boolean): string {
  // By default only the rows worth reading: nodes not in the requested precision.
  const rows = all ? e.rows : e.rows.filter((r) => r.realized !== r.requested && r.resolved !== '-');
  const header = ['node', 'op', 'requested', 'resolved', 'realized', 'reason'];
  const table = rows.map((r) => [r.node, r.op, r.requested, r.resolved, r.realized, r.reason]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...table.map((t) => t[i]!.length))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const { nodes, flops } = e.total;
  const shareLine = (label: string, s: Record<string, [number, number]>) =>
    `  ${label.padEnd(9)} ${Object.entries(s)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, [n, f]]) => `${p === '?' ? '? (fused or not explained)' : p} ${n}/${nodes} nodes, ${flops ? `${((100 * f) / flops).toFixed(1)}%` : '?'} FLOPs`)
      .join('; ')}`;
  const parts = [`${e.cell}`, shareLine('resolved', e.resolvedShare), shareLine('realized', e.realizedShare)];
  const emulated = e.rows.filter((r) => r.reason.includes('EMULATED')).length;
  if (emulated) parts.push(`  EMULATED: ${emulated} node(s) computed in fp32 and stored rounded to their type (numerics: emulated): their accuracy is the type's, their speed is not`);
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
