/**
 * A failed gRPC call as a RunnerCallError: the status, and the runner's structured detail from
 * the trailing metadata when it sent one. Only the client (and code holding its errors) needs it.
 */
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ErrorDetail } from '../gen/trtpipe/runner/v1/runner.js';
import { RunnerCallError } from './runner-call-error.js';

/** Trailing-metadata key where runners put the structured error detail. */
export const ERROR_METADATA_KEY = 'trtpipe-error-bin';

export function callError(method: string, err: ServiceError | Error, address?: string): RunnerCallError {
  if (err instanceof RunnerCallError) return err;
  const se = err as Partial<ServiceError>;
  const code = se.code ?? grpcStatus.UNKNOWN;
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
