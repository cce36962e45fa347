import type { ErrorDetail } from '../gen/trtpipe/runner/v1/runner.js';
import { PROTOCOL_MISMATCH } from './protocol.js';

/**
 * The gRPC status codes this module reads (fixed by the gRPC spec), as plain numbers: the class is
 * loaded by the scheduler even when no runner is started, and grpc-js is loaded only with the client.
 */
export const status = { CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;
/** runner.proto's ErrorKind.ERROR_KIND_USER. */
const ERROR_KIND_USER = 1;

/**
 * A failed runner call: which method, the gRPC status, and the runner's
 * structured detail (code, message, node) when it sent one.
 */
export class RunnerCallError extends Error {
  constructor(
    readonly method: string,
    /** The gRPC status code. */
    readonly code: number,
    message: string,
    readonly detail?: ErrorDetail,
    readonly address?: string,
  ) {
    super(message);
    this.name = 'RunnerCallError';
  }

  /** True for errors the user can act on (bad input), false for bugs and outages. */
  get isUserError(): boolean {
    return this.detail?.kind === ERROR_KIND_USER;
  }

  /** True when the runner refused this client's protocol version (the message names both). */
  get isIncompatible(): boolean {
    return this.detail?.code === PROTOCOL_MISMATCH;
  }

  /** True when the runner could not be reached or went away. */
  get isUnavailable(): boolean {
    return this.code === status.UNAVAILABLE || this.code === status.DEADLINE_EXCEEDED && !this.detail;
  }

  /** The call was cancelled (by this client: Ctrl-C, a failed sibling; or the connection dropped). */
  get isCancelled(): boolean {
    return this.code === status.CANCELLED;
  }

  /** The call ran past its deadline (a stage timeout), the runner said nothing of its own. */
  get isTimeout(): boolean {
    return this.code === status.DEADLINE_EXCEEDED && !this.detail;
  }

  /**
   * The runner refused a transfer because this client (or all of them) has too many open
   * (runner-py/trtpipe_runner/transfers.py): try again shortly, nothing is wrong.
   */
  get isBusy(): boolean {
    return this.code === status.RESOURCE_EXHAUSTED && this.detail?.code === 'TOO_MANY_TRANSFERS';
  }

  /** The runner refused the token. */
  get isUnauthenticated(): boolean {
    return this.code === status.UNAUTHENTICATED;
  }

  /**
   * The transport failed rather than the stage: the runner was unreachable, the stream broke
   * (cancelled from the other end), or an error arrived without the runner's structured detail.
   * Whether the runner is lost is for the retry policy to find out (run/retry-policy.ts).
   */
  get isTransport(): boolean {
    const bare = !this.detail && (this.code === status.INTERNAL || this.code === status.UNKNOWN);
    return this.code === status.UNAVAILABLE || this.code === status.CANCELLED || bare;
  }

  /** A stable code for run records: the runner's own (DATA_SHAPE_MISMATCH), TIMEOUT, or GRPC_<status>. */
  get failureCode(): string {
    return this.isTimeout ? 'TIMEOUT' : this.detail?.code || `GRPC_${this.code}`;
  }

  /** A call that was not made or was given up: the run was interrupted. */
  static cancelled(method: string, message: string): RunnerCallError {
    return new RunnerCallError(method, status.CANCELLED, message);
  }

  /** No runner is left to make the call to. */
  static unavailable(method: string, message: string): RunnerCallError {
    return new RunnerCallError(method, status.UNAVAILABLE, message);
  }

}
