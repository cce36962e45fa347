/**
 * Errors any layer may throw, by kind, so that no layer below src/cli needs to know about
 * processes or exit codes: only src/cli maps a kind to one (cli/exit-codes.ts `exitCodeOf`).
 *
 * - input: the pipeline, the command line, the model or the data is wrong (what, where, how to fix);
 * - runner: a runner could not be started or reached, died, or speaks another protocol;
 * - stage: a stage failed on a runner (a build error, no kernel for a precision, ...);
 * - gate: a regression gate or a tolerance failed;
 * - interrupted: Ctrl-C or SIGTERM;
 * - storage: the state folder could not be written (a full disk, a quota, a read-only file system);
 * - internal: a bug in trtpipe (any other exception is one too).
 */
export type ErrorKind = 'input' | 'runner' | 'stage' | 'gate' | 'interrupted' | 'storage' | 'internal';

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

/** What a file-system error code says about the machine (not a bug in trtpipe), if it is one. */
const STORAGE_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
};

/**
 * The error as one of a kind: a TrtpipeError as it is; a full disk, a quota or a read-only file
 * system (from any layer's write) as a storage error naming the file; anything else unchanged.
 */
export function classifyError(err: unknown): unknown {
  if (err instanceof TrtpipeError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const what = e?.code ? STORAGE_CODES[e.code] : undefined;
  if (!what) return err;
  const where = e!.path ? ` writing ${e!.path}` : '';
  return new TrtpipeError(
    'storage',
    `${what} (${e!.code})${where}: free some space or give another --state-dir; a run that had started keeps its run.json, which says how far it got`,
  );
}
