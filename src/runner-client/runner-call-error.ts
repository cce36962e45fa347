import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorDetail, ErrorKind } from '../gen/trtpipe/runner/v1/runner.js';
import { PROTOCOL_MISMATCH } from './protocol.js';

/** Trailing-metadata key where runners put the structured error detail. */
export const ERROR_METADATA_KEY = 'trtpipe-error-bin';

/**
 * A failed runner call: which method, the gRPC status, and the runner's
 * structured detail (code, message, node) when it sent one.
 */
export class RunnerCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: status,
    message: string,
    readonly detail?: ErrorDetail,
    readonly address?: string,
  ) {
    super(message);
    this.name = 'RunnerCallError';
  }

  /** True for errors the user can act on (bad input), false for bugs and outages. */
  get isUserError(): boolean {
    return this.detail?.kind === ErrorKind.ERROR_KIND_USER;
  }

  /** True when the runner refused this client's protocol version (the message names both). */
  get isIncompatible(): boolean {
    return this.detail?.code === PROTOCOL_MISMATCH;
  }

  /** True when the runner could not be reached or went away. */
  get isUnavailable(): boolean {
    return this.code === status.UNAVAILABLE || this.code === status.DEADLINE_EXCEEDED && !this.detail;
  }

  static from(method: string, err: ServiceError | Error, address?: string): RunnerCallError {
    if (err instanceof RunnerCallError) return err;
    const se = err as Partial<ServiceError>;
    const code = se.code ?? status.UNKNOWN;
    let detail: ErrorDetail | undefined;
    const raw = se.metadata instanceof Metadata ? se.metadata.get(ERROR_METADATA_KEY)[0] : undefined;
    if (raw instanceof Buffer) {
      try {
        detail = ErrorDetail.decode(raw);
      } catch {
        detail = undefined;
      }
    }
    const message = detail?.message || se.details || err.message;
    return new RunnerCallError(method, code, message, detail, address);
  }
}
