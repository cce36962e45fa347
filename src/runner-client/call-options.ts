import type { CallOptions } from '@grpc/grpc-js';

/** Per-call options every client method takes. */
export interface CallOpts {
  /** Aborting cancels the call (and, for RunStage, the stage on the runner). */
  signal?: AbortSignal;
  /** Milliseconds from now until the call fails with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
}

export function grpcCallOptions(opts: CallOpts = {}): CallOptions {
  return opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
}

/** Cancels `call` when `signal` aborts; returns the cleanup function. */
export function linkAbort(signal: AbortSignal | undefined, call: { cancel(): void }): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
