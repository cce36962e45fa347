import { ExitCode, exitCodeOf } from './exit-codes.js';
import { classifyError, TrtpipeError } from '../errors.js';

/**
 * Runs a command and turns whatever it throws into an exit code: user errors
 * print their message, anything else is a bug and prints its stack.
 */
export async function runCommand(
  load: () => Promise<(args: string[]) => Promise<number>>,
  args: string[],
): Promise<number> {
  try {
    const command = await load();
    return await command(args);
  } catch (caught) {
    const err = classifyError(caught);
    if (err instanceof TrtpipeError) {
      process.stderr.write(`trtpipe: ${err.message}\n`);
      return exitCodeOf(err.kind);
    }
    const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(
      `trtpipe: internal error (a bug in trtpipe; please report it with this output)\n${stack}\n`,
    );
    return ExitCode.Internal;
  }
}
