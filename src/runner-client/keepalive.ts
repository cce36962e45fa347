/**
 * The orchestrator's half of the keepalive contract (docs/architecture.md,
 * "Long stages"): the client pings every connection every 30 s, also between
 * calls, and gives a ping 20 s to be answered. Runners accept pings three
 * times that often (runner-py/trtpipe_runner/keepalive.py) and stream a
 * heartbeat when a stage is silent, so no interval here depends on how long a
 * stage runs.
 *
 * `TRTPIPE_GRPC_KEEPALIVE_MS` scales the interval; runners read the same
 * variable, so tests can set it for both ends. Leave it unset in production.
 */
import type { ClientOptions } from '@grpc/grpc-js';
import { InputError } from '../errors.js';

export const KEEPALIVE_MS = 30_000;
export const KEEPALIVE_TIMEOUT_MS = 20_000;
export const KEEPALIVE_ENV = 'TRTPIPE_GRPC_KEEPALIVE_MS';

/** The client's ping interval: KEEPALIVE_MS unless TRTPIPE_GRPC_KEEPALIVE_MS says otherwise. */
export function keepaliveMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[KEEPALIVE_ENV]?.trim();
  if (!raw) return KEEPALIVE_MS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new InputError(`${KEEPALIVE_ENV} must be a whole number of milliseconds >= 1, not '${raw}'`);
  return Number(raw);
}

/** Channel options for the client's side of the contract. */
export function keepaliveOptions(env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const interval = keepaliveMs(env);
  return {
    'grpc.keepalive_time_ms': interval,
    // Never longer than the interval itself, so a scaled-down test notices a dead peer as fast.
    'grpc.keepalive_timeout_ms': Math.min(KEEPALIVE_TIMEOUT_MS, interval),
    'grpc.keepalive_permit_without_calls': 1,
  };
}
