/**
 * Runners for a pipeline's targets: one spawned local runner shared by every
 * `local` target, or clients for remote addresses. Owns their lifetime.
 */
import { ExitCode } from '../cli/exit-codes.js';
import { UserError } from '../cli/user-error.js';
import type { Pipeline } from '../config/types.js';
import type { GetCapabilitiesResponse } from '../gen/trtpipe/runner/v1/runner.js';
import { targetIdentity } from '../plan/target-identity.js';
import { spawnLocalRunner, type LocalRunner } from '../runner-client/local-runner.js';
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import { RunnerClient } from '../runner-client/runner-client.js';

export interface RunnerInfo {
  target: string;
  address: string;
  local: boolean;
  capabilities: GetCapabilitiesResponse;
}

export interface RunnerPool {
  clients: Map<string, RunnerClient>;
  info: Map<string, RunnerInfo>;
  /** Target identity for cache keys: backend and versions, GPUs. */
  identity: Map<string, Record<string, unknown>>;
  /** Seconds spent starting/connecting. */
  startSeconds: number;
  local?: LocalRunner;
  close(): Promise<void>;
}

export async function openRunners(
  p: Pipeline,
  targets: string[],
  opts: { storeDir: string; logFile: string; python?: string; signal: AbortSignal },
): Promise<RunnerPool> {
  const t0 = performance.now();
  const clients = new Map<string, RunnerClient>();
  const info = new Map<string, RunnerInfo>();
  const identity = new Map<string, Record<string, unknown>>();
  let local: LocalRunner | undefined;
  let localClient: RunnerClient | undefined;
  const pool: RunnerPool = {
    clients, info, identity, startSeconds: 0,
    async close() {
      const all = new Set(clients.values());
      for (const c of all) c.close();
      await local?.stop();
    },
  };
  try {
    for (const name of targets) {
      const t = p.targets.find((x) => x.name === name)!;
      const spec = t.runners[0]!;
      let client: RunnerClient;
      if (spec === 'local') {
        if (!localClient) {
          local = await spawnLocalRunner({ storeDir: opts.storeDir, logFile: opts.logFile, python: opts.python });
          pool.local = local;
          localClient = new RunnerClient(local.address, { token: local.token });
        }
        client = localClient;
      } else {
        const url = new URL(spec);
        const token = t.tokenEnv ? process.env[t.tokenEnv] : undefined;
        if (t.tokenEnv && !token) {
          throw new UserError(`target '${name}': environment variable ${t.tokenEnv} (token_env) is not set`, ExitCode.RunnerUnavailable);
        }
        client = new RunnerClient(url.host, { ...(token ? { token } : {}), tls: url.protocol === 'grpcs:' });
      }
      let caps: GetCapabilitiesResponse;
      try {
        caps = await client.getCapabilities({ signal: opts.signal, timeoutMs: 30_000 });
      } catch (err) {
        const e = err as RunnerCallError;
        throw new UserError(`target '${name}': runner ${spec === 'local' ? '(local)' : spec} is unreachable: ${e.message}`, ExitCode.RunnerUnavailable);
      }
      const backend = caps.backends.find((b) => b.name === t.backend);
      if (t.backend !== 'auto' && !backend?.available) {
        throw new UserError(
          `target '${name}': backend ${t.backend} is not available on runner ${spec}: ${backend?.unavailableReason || 'unknown backend'}`,
          ExitCode.RunnerUnavailable,
        );
      }
      clients.set(name, client);
      info.set(name, { target: name, address: client.address, local: spec === 'local', capabilities: caps });
      identity.set(name, targetIdentity(t, caps));
    }
  } catch (err) {
    await pool.close();
    throw err;
  }
  pool.startSeconds = (performance.now() - t0) / 1000;
  return pool;
}
