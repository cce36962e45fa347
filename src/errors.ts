/**
 * Errors any layer may throw, by kind, so that no layer below src/cli needs to know about
 * processes or exit codes: only src/cli maps a kind to one (cli/exit-codes.ts `exitCodeOf`).
 *
 * - input: the pipeline, the command line, the model or the data is wrong (what, where, how to fix);
 * - runner: a runner could not be started or reached, died, or speaks another protocol;
 * - stage: a stage failed on a runner (a build error, no kernel for a precision, ...);
 * - gate: a regression gate or a tolerance failed;
 * - interrupted: Ctrl-C or SIGTERM;
 * - internal: a bug in trtpipe (any other exception is one too).
 */
export type ErrorKind = 'input' | 'runner' | 'stage' | 'gate' | 'interrupted' | 'internal';

/** An error the user can act on: printed as its message alone, without a stack. */
export class TrtpipeError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TrtpipeError';
  }
}

/** Bad input: the pipeline, arguments, model or data (the message says what, where and how to fix it). */
export class InputError extends TrtpipeError {
  constructor(message: string) {
    super('input', message);
    this.name = 'InputError';
  }
}

/** A runner could not be started or reached, died, or is incompatible. */
export class RunnerUnavailableError extends TrtpipeError {
  constructor(message: string) {
    super('runner', message);
    this.name = 'RunnerUnavailableError';
  }
}
