/**
 * The exit codes of `trtpipe`, documented in the README. Only src/cli decides
 * which one a run ends with; every other layer throws errors of a kind (src/errors.ts).
 */
import type { ErrorKind } from '../errors.js';

export const ExitCode = {
  /** Everything ran and every gate passed. */
  Ok: 0,
  /** A stage failed (bad model for the chosen precision, backend error, ...). */
  StageFailed: 1,
  /** The pipeline file or the command line is invalid. */
  InvalidInput: 2,
  /** A runner could not be started or reached, or is incompatible. */
  RunnerUnavailable: 3,
  /** A regression gate failed. */
  GateFailed: 4,
  /** The state folder could not be written: a full disk, a quota, a read-only file system. */
  StorageFailed: 5,
  /** A bug in trtpipe. */
  Internal: 70,
  /** Interrupted (Ctrl-C / SIGTERM). */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code of an error kind (src/errors.ts): the one mapping from kinds to codes. */
export function exitCodeOf(kind: ErrorKind): ExitCodeValue {
  switch (kind) {
    case 'input': return ExitCode.InvalidInput;
    case 'runner': return ExitCode.RunnerUnavailable;
    case 'stage': return ExitCode.StageFailed;
    case 'gate': return ExitCode.GateFailed;
    case 'interrupted': return ExitCode.Interrupted;
    case 'storage': return ExitCode.StorageFailed;
    case 'internal': return ExitCode.Internal;
  }
}

/**
 * The exit code of a run's failed stages (`run`, `lock`, `search` alike): every one lost its
 * runner: 3; every one was bad input: 2; otherwise a stage failed: 1; none: 0.
 */
export function exitCodeOfFailures(kinds: ErrorKind[]): ExitCodeValue {
  if (!kinds.length) return ExitCode.Ok;
  const all = (k: ErrorKind) => kinds.every((x) => x === k);
  return all('runner') ? exitCodeOf('runner') : all('input') ? exitCodeOf('input') : exitCodeOf('stage');
}
