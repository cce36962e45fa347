import { ExitCode, type ExitCodeValue } from './exit-codes.js';

/**
 * An error the user can fix: printed as its message alone (no stack trace),
 * ending the process with `exitCode`.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.InvalidInput,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
