/**
 * `trtpipe compare <runA> <runB> [--gates]`: deltas of B against A per cell.
 * With --gates, B's pipeline gates (as recorded in its run.json) are judged
 * against A and a failure exits 4, so CI can gate on two existing runs.
 */
import { compareRuns } from '../../report/compare.js';
import { compareTable } from '../../report/compare-text.js';
import { evaluateGates } from '../../report/gates.js';
import { loadBaseline } from '../../store/baselines.js';
import { readHistory } from '../../store/history.js';
import { ExitCode } from '../exit-codes.js';
import { gateSummary } from '../gate-summary.js';
import { parseOrExplain } from '../parse-args.js';
import { stateRootOf } from '../state-root.js';
import { InputError } from '../../errors.js';

export default async function compare(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { gates: { type: 'boolean' }, 'state-dir': { type: 'string' } },
  });
  if (positionals.length !== 2) throw new InputError('usage: trtpipe compare <runA> <runB> [--gates]   (runs: id, latest, folder, run.json or a baseline name)');
  const stateRoot = stateRootOf(values['state-dir']);
  const a = await loadBaseline(stateRoot, positionals[0]!);
  const b = await loadBaseline(stateRoot, positionals[1]!);
  if (a.record.pipeline.name !== b.record.pipeline.name) {
    process.stderr.write(`trtpipe: warning: comparing different pipelines (${a.record.pipeline.name} and ${b.record.pipeline.name}); cells are matched by id\n`);
  }
  const { entries } = await readHistory(stateRoot);
  const cmp = compareRuns(a.record, b.record, a.name, entries);
  process.stdout.write(`${compareTable(cmp)}\n`);
  if (!values.gates) return ExitCode.Ok;
  const config = b.record.gates?.config;
  if (!config || !Object.keys(config).length) throw new InputError(`run ${b.record.id} records no gates (its pipeline has no gates: section)`);
  const report = evaluateGates(config, b.record, cmp);
  process.stdout.write(`\n${gateSummary(report).join('\n')}\n`);
  return report.failed ? ExitCode.GateFailed : ExitCode.Ok;
}
