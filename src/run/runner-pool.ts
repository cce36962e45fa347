/**
 * The runners of a pipeline's targets (the RunnerPool the scheduler uses, pool.ts). Each target
 * is a pool: `local` (one runner trtpipe spawns, shared by every local target), a list of
 * grpc(s):// addresses, or a DNS name whose addresses are the pool (a Kubernetes headless
 * service). A local target with `gpus` gets one local runner per GPU (run/local-gpus.ts); local
 * runners share the host's cores. Runners start lazily, and the gRPC client is loaded only then:
 * a run whose stages are all cached never spawns a runner nor loads gRPC. Owns their lifetime.
 */
import { lookup } from 'node:dns/promises';
import { PIPELINE_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import { RunnerUnavailableError } from '../errors.js';
import type { Pipeline, Target } from '../config/types.js';
import type { RunnerCapabilities } from '../runner-client/capabilities.js';
import { targetIdentity } from '../plan/target-identity.js';
import { resolvePython, spawnLocalRunner, type LocalRunner } from '../runner-client/local-runner.js';
import { IncompatibleRunnerError } from '../runner-client/protocol.js';
import { RunnerCallError } from '../runner-client/runner-call-error.js';
import { localAddress, targetPins, threadBudget, type LocalPin } from './local-gpus.js';
import type { LocalExit, RunnerHandle, RunnerLoad, RunnerPool } from './pool.js';
import { localFingerprint, readCachedCapabilities, writeCachedCapabilities } from './runner-identity.js';

export interface RunnerPoolOptions {
  stateRoot: string;
  logFile: string;
  python?: string;
  signal: AbortSignal;
}

export class PipelineRunnerPool implements RunnerPool {
  private readonly handles = new Map<string, RunnerHandle[]>();
  /** Local runners by pin ('' unpinned, else the GPU), and their handles. */
  private readonly locals = new Map<LocalPin, LocalRunner>();
  private readonly localHandles = new Map<LocalPin, Promise<RunnerHandle>>();
  private pinsMemo?: Map<string, LocalPin[]>;
  private readonly starting = new Map<string, Promise<RunnerHandle[]>>();
  /** Per runner process (by address), shared by the handles of every target on it: its slots and what it holds. */
  private readonly runners = new Map<string, { load: RunnerLoad; has: Set<string> }>();
  /** Capabilities per target: from a started runner, or remembered for the local one. */
  readonly capabilities = new Map<string, RunnerCapabilities>();
  /** Seconds spent starting and connecting runners. */
  startSeconds = 0;

  constructor(
    private readonly p: Pipeline,
    private readonly opts: RunnerPoolOptions,
  ) {}

  private get storeDir() {
    return path.join(this.opts.stateRoot, 'runner-store');
  }

  private get identityDir() {
    return path.join(this.opts.stateRoot, 'cache', 'runner-identity');
  }

  private target(name: string): Target {
    return this.p.targets.find((t) => t.name === name)!;
  }

  /** The local runners of each target (resolved once: `gpus: all` asks the host). */
  private pins(name: string): LocalPin[] {
    this.pinsMemo ??= new Map(this.p.targets.map((t) => [t.name, targetPins(t)]));
    return this.pinsMemo.get(name)!;
  }

  /** Host threads each local runner gets: the cores split between all the run's local runners. */
  private get localThreads(): number | undefined {
    return threadBudget(new Set(this.p.targets.flatMap((t) => this.pins(t.name))).size);
  }

  /**
   * The identity of a target for cache keys, without starting anything when
   * it can: a local runner's capabilities are remembered per environment.
   */
  async identity(name: string): Promise<Record<string, unknown>> {
    const t = this.target(name);
    if (t.runners.every((r) => r === 'local')) {
      const fp = localFingerprint(resolvePython(this.opts.python));
      const cached = fp ? readCachedCapabilities(this.identityDir, pinnedFingerprint(fp, this.pins(name)[0]!)) : undefined;
      if (cached) {
        this.capabilities.set(name, cached);
        return targetIdentity(t, cached);
      }
    }
    const [first] = await this.start(name);
    return targetIdentity(t, first!.capabilities);
  }

  /** Starts (or connects to) every runner of a target; idempotent. */
  start(name: string): Promise<RunnerHandle[]> {
    if (!this.starting.has(name)) {
      const t0 = performance.now();
      this.starting.set(
        name,
        this.open(this.target(name)).then((hs) => {
          this.handles.set(name, hs);
          this.capabilities.set(name, hs[0]!.capabilities);
          this.startSeconds += (performance.now() - t0) / 1000;
          return hs;
        }),
      );
    }
    return this.starting.get(name)!;
  }

  /** Alive runners of a target (started). */
  members(name: string): RunnerHandle[] {
    return (this.handles.get(name) ?? []).filter((h) => h.alive);
  }

  /** The least busy alive runner of a target, or undefined if none is left. */
  pick(name: string): RunnerHandle | undefined {
    return this.members(name).sort((a, b) => a.load.busy - b.load.busy)[0];
  }

  /** The one load and artifact set of the runner at `address`, whichever targets list it. */
  private runner(address: string): { load: RunnerLoad; has: Set<string> } {
    const key = address.toLowerCase();
    if (!this.runners.has(key)) this.runners.set(key, { load: { busy: 0 }, has: new Set<string>() });
    return this.runners.get(key)!;
  }

  all(): RunnerHandle[] {
    return [...new Set([...this.handles.values()].flat())];
  }

  /**
   * Whether a local runner process has exited, and how: the one named by its
   * address (`local`, `local:gpu1`), or without one the first that has.
   */
  localExit(address?: string): LocalExit | undefined {
    for (const [pin, local] of this.locals) {
      if (address !== undefined && localAddress(pin) !== address) continue;
      const proc = local.process;
      if (proc.exitCode !== null || proc.signalCode !== null)
        return { code: proc.exitCode, signal: proc.signalCode, tail: local.stderrTail() };
    }
    return undefined;
  }

  async waitLocalExit(ms: number, address?: string): Promise<void> {
    const exits = [...this.locals].filter(([pin]) => address === undefined || localAddress(pin) === address).map(([, l]) => l.exited);
    if (exits.length) await Promise.race([...exits, new Promise((r) => setTimeout(r, ms))]);
  }

  async close(): Promise<void> {
    for (const h of this.all()) h.client.close();
    await Promise.all([...this.locals.values()].map((l) => l.stop()));
  }

  private async open(t: Target): Promise<RunnerHandle[]> {
    const out: RunnerHandle[] = [];
    for (const spec of t.runners) {
      if (spec === 'local') {
        const pins = this.pins(t.name);
        out.push(...(await Promise.all(pins.map((pin) => this.startLocal(pin)))).map((h) => ({ ...h, target: t.name })));
      } else out.push(...(await this.connectAll(t, spec, await expandPool(spec))));
    }
    return out;
  }

  /** The local runner of a pin ('' or a GPU), started once and shared by every local target. */
  private startLocal(pin: LocalPin): Promise<RunnerHandle> {
    if (!this.localHandles.has(pin)) {
      this.localHandles.set(
        pin,
        (async () => {
          const threads = this.localThreads;
          const local = await spawnLocalRunner({
            storeDir: this.storeDir,
            logFile: this.opts.logFile,
            python: this.opts.python,
            ...(threads ? { threads } : {}),
            ...(pin ? { cudaVisibleDevices: pin } : {}),
          });
          this.locals.set(pin, local);
          const name = pin ? `the local runner for GPU ${pin}` : 'the local runner';
          const { RunnerClient } = await import('../runner-client/runner-client.js');
          const client = new RunnerClient(local.address, { token: local.token });
          const capabilities = await client.getCapabilities({ signal: this.opts.signal, timeoutMs: 60_000 }).catch((err: unknown) => {
            throw incompatible(err)
              ? new RunnerUnavailableError(`${name} (${local.python}) is incompatible: ${(err as Error).message}`)
              : err;
          });
          const fp = localFingerprint(local.python);
          if (fp) await writeCachedCapabilities(this.identityDir, pinnedFingerprint(fp, pin), capabilities);
          return {
            address: localAddress(pin),
            target: '',
            client,
            local: true,
            capabilities,
            alive: true,
            ...this.runner(localAddress(pin)),
            storeDir: this.storeDir,
          };
        })(),
      );
    }
    return this.localHandles.get(pin)!;
  }

  /**
   * Connects to every member of a pool at once: each answers GetCapabilities only after probing its
   * backends, so connecting in turn made a pool of four wait for four probes. One that fails fails
   * the target (and the others are closed), as before.
   */
  private async connectAll(t: Target, spec: string, addresses: string[]): Promise<RunnerHandle[]> {
    const settled = await Promise.allSettled(addresses.map((address) => this.connect(t, spec, address)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const handles = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed) {
      for (const h of handles) h.client.close();
      throw failed.reason;
    }
    return handles;
  }

  private async connect(t: Target, spec: string, address: string): Promise<RunnerHandle> {
    const url = new URL(spec);
    const token = t.tokenEnv ? process.env[t.tokenEnv] : undefined;
    if (t.tokenEnv && !token) {
      throw new RunnerUnavailableError(`target '${t.name}': environment variable ${t.tokenEnv} (token_env) is not set`);
    }
    const tls =
      url.protocol === 'grpcs:'
        ? {
            ...(t.tls?.ca ? { ca: pem(t.tls.ca, 'tls.ca') } : {}),
            ...(t.tls?.cert ? { cert: pem(t.tls.cert, 'tls.cert') } : {}),
            ...(t.tls?.key ? { key: pem(t.tls.key, 'tls.key') } : {}),
          }
        : undefined;
    const { RunnerClient } = await import('../runner-client/runner-client.js');
    const client = new RunnerClient(address, {
      ...(token ? { token } : {}),
      ...(tls ? { tls } : {}),
      // Certificates name the service, not the pool member's address.
      ...(tls && address !== url.host ? { channelOptions: { 'grpc.ssl_target_name_override': url.hostname } } : {}),
    });
    try {
      const capabilities = await client.getCapabilities({ signal: this.opts.signal, timeoutMs: 30_000 });
      return { address, target: t.name, client, local: false, capabilities, alive: true, ...this.runner(address) };
    } catch (err) {
      client.close();
      if (incompatible(err))
        throw new RunnerUnavailableError(`target '${t.name}': runner ${address} is incompatible: ${(err as Error).message}`);
      const e = err as RunnerCallError;
      const why = e.isUnauthenticated ? `the token in ${t.tokenEnv ?? '(no token_env)'} was refused` : e.message;
      throw new RunnerUnavailableError(`target '${t.name}': runner ${address} is unreachable: ${why}`);
    }
  }
}

/** Remembered capabilities per local runner: a pinned runner sees only its GPU. */
function pinnedFingerprint(fp: string, pin: LocalPin): string {
  return pin ? `${fp}-gpu${pin}` : fp;
}

/** A runner of a protocol version this client cannot use, as either side found it. */
function incompatible(err: unknown): boolean {
  return err instanceof IncompatibleRunnerError || (err instanceof RunnerCallError && err.isIncompatible);
}

/** host:port addresses of a runner spec; a DNS name with several IPv4 addresses is a pool. */
async function expandPool(spec: string): Promise<string[]> {
  const url = new URL(spec);
  const port = url.port || '50051';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) || url.hostname.startsWith('[')) return [`${url.hostname}:${port}`];
  try {
    const addrs = [...new Set((await lookup(url.hostname, { all: true, family: 4 })).map((a) => a.address))];
    return addrs.length > 1 ? addrs.map((a) => `${a}:${port}`) : [`${url.hostname}:${port}`];
  } catch {
    return [`${url.hostname}:${port}`];
  }
}

/** A PEM file the pipeline names: a regular file under the pipeline-file limit (user-files.ts). */
function pem(file: string, key: string): Buffer {
  return Buffer.from(readUserText(file, `target ${key}`, PIPELINE_FILE_LIMIT));
}
