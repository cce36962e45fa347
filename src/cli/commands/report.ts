/** `trtpipe report <run>`: re-renders report.md, report.html and junit.xml from a run's run.json. */
import path from 'node:path';
import { renderReports } from '../../report/write-reports.js';
import { readHistory } from '../../store/history.js';
import { readRunRecord, resolveRun } from '../../store/run-ref.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { stateRootOf } from '../state-root.js';
import { InputError } from '../../errors.js';

export default async function report(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new InputError('usage: trtpipe report <run-id|latest|run folder|run.json> [--out DIR] [--state-dir DIR]');
  const stateRoot = stateRootOf(values['state-dir']);
  const run = await resolveRun(positionals[0]!, stateRoot);
  const record = await readRunRecord(run.file);
  const { entries, skipped } = await readHistory(stateRoot);
  if (skipped) process.stderr.write(`trtpipe: ${skipped} unreadable line(s) in the history were left out\n`);
  const files = await renderReports(path.resolve(values.out ?? run.dir), record, entries);
  for (const f of files) process.stdout.write(`${path.relative(process.cwd(), f) || f}\n`);
  // The gates were judged when the run ran; re-rendering does not judge them again.
  return ExitCode.Ok;
}
