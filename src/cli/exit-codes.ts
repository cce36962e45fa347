/**
 * The exit codes of `trtpipe`, documented in the README. Only src/cli decides
 * which one a run ends with.
 */
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
  /** A bug in trtpipe. */
  Internal: 70,
  /** Interrupted (Ctrl-C / SIGTERM). */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
