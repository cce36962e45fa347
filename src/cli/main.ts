/**
 * Entry point: parses the command word and hands over to the command module,
 * loaded on demand so `--help` and `--version` start fast.
 */
import { ExitCode } from './exit-codes.js';
import { VERSION } from '../version.js';
import { HELP } from './help.js';
import { maskEnvValues } from '../config/env-values.js';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  run: () => import('./commands/run.js'),
  validate: () => import('./commands/validate.js'),
  plan: () => import('./commands/plan.js'),
  init: () => import('./commands/init.js'),
  setup: () => import('./commands/setup.js'),
  schema: () => import('./commands/schema.js'),
  lock: () => import('./commands/lock.js'),
  search: () => import('./commands/search.js'),
  explain: () => import('./commands/explain.js'),
  cache: () => import('./commands/cache.js'),
  runners: () => import('./commands/runners.js'),
  report: () => import('./commands/report.js'),
  baseline: () => import('./commands/baseline.js'),
  compare: () => import('./commands/compare.js'),
};

/** Everything printed goes through maskEnvValues: a value a pipeline took from the environment is shown as its `${NAME}`. */
function maskOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? maskEnvValues(chunk) : chunk, ...rest)) as typeof stream.write;
  }
}

export async function main(argv: string[]): Promise<void> {
  maskOutput();
  // `trtpipe explain | head`: a closed pipe ends the output, not the process with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    process.exitCode = command ? ExitCode.Ok : ExitCode.InvalidInput;
    return;
  }
  if (command === '-V' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const load = COMMANDS[command];
  if (!load) {
    const { suggest } = await import('../config/suggest.js');
    const hint = suggest(command, Object.keys(COMMANDS));
    process.stderr.write(`trtpipe: unknown command '${command}'${hint ? `; did you mean '${hint}'?` : ''}\nRun 'trtpipe --help' for the list.\n`);
    process.exitCode = ExitCode.InvalidInput;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    // `trtpipe lock --help`: the help, not an "unknown option" from the command's parser.
    process.stdout.write(HELP);
    return;
  }
  const { runCommand } = await import('./run-command.js');
  process.exitCode = await runCommand(() => load().then((m) => m.default), rest);
}
