/** `trtpipe baseline save <run> [--name main]` and `trtpipe baseline list`. */
import path from 'node:path';
import { listBaselines, saveBaseline } from '../../store/baselines.js';
import { resolveRun } from '../../store/run-ref.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { stateRootOf } from '../state-root.js';
import { InputError } from '../../errors.js';

const USAGE = 'usage: trtpipe baseline save <run-id|latest|run folder|run.json> [--name main] | trtpipe baseline list';

export default async function baseline(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string', default: 'main' }, 'state-dir': { type: 'string' } },
  });
  const [action, ...rest] = positionals;
  const stateRoot = stateRootOf(values['state-dir']);
  if (action === 'list' && !rest.length) {
    const names = await listBaselines(stateRoot);
    process.stdout.write(names.length ? `${names.join('\n')}\n` : 'no baselines yet; save one with: trtpipe baseline save latest --name main\n');
    return ExitCode.Ok;
  }
  if (action !== 'save' || rest.length !== 1) throw new InputError(USAGE);
  const run = await resolveRun(rest[0]!, stateRoot);
  const { file, record } = await saveBaseline(stateRoot, run.file, values.name!);
  if (record.status !== 'ok') process.stderr.write(`trtpipe: warning: run ${record.id} ended ${record.status}; cells that did not complete are not compared\n`);
  process.stdout.write(`baseline ${values.name}: run ${record.id} (${record.pipeline.name}, ${record.cells.length} cells) -> ${path.relative(process.cwd(), file) || file}\n`);
  return ExitCode.Ok;
}
