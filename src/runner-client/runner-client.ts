/**
 * RunnerClient: one thin adapter over the generated grpc-js client. Every
 * method takes an AbortSignal and a timeout; every failure is a
 * RunnerCallError naming the method, status and the runner's detail.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { credentials, Metadata, type ChannelCredentials, type ClientOptions } from '@grpc/grpc-js';
import { HealthClient, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import { type ArtifactRef, type DeviceLease, type RunStageRequest, RunnerServiceClient, type StageResult, type LogLine, type Progress } from '../gen/trtpipe/runner/v1/runner.js';
import { type CallOpts, grpcCallOptions, linkAbort } from './call-options.js';
import { capabilitiesFromJson, type RunnerCapabilities } from './capabilities.js';
import { leaseRecord, levelName, stageRunResult, type StageEvent, type StageRunRequest, type StageRunResult } from './stage-run.js';
import { keepaliveOptions } from './keepalive.js';
import { CLIENT_VERSION_METADATA_KEY, IncompatibleRunnerError, PROTOCOL, PROTOCOL_METADATA_KEY, protocolProblem } from './protocol.js';
import { callError } from './call-error.js';
import { RunnerCallError } from './runner-call-error.js';
import { VERSION } from '../version.js';

export const CHUNK_BYTES = 1 << 20;

/**
 * grpc-js receives slowly with HTTP/2's default 64 KiB flow-control window;
 * a 16 MiB window lets 1 MiB chunks stream (measured in bench/transfer).
 * Keepalive comes from keepalive.ts, the contract runners are set against.
 */
export const CHANNEL_OPTIONS: ClientOptions = {
  'grpc-node.flow_control_window': 16 << 20,
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
};

export interface RunnerClientOptions {
  /** Bearer token sent with every call. */
  token?: string;
  /** TLS: true for system roots, or PEM buffers. Default plaintext. */
  tls?: boolean | { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Overrides of CHANNEL_OPTIONS (benchmarks compare settings side by side). */
  channelOptions?: ClientOptions;
}

export type { StageEvent, StageRunRequest, StageRunResult } from './stage-run.js';

export class RunnerClient {
  readonly address: string;
  private readonly client: RunnerServiceClient;
  private readonly health: HealthClient;
  private readonly token?: string;

  /** @param address host:port (no scheme) */
  constructor(address: string, opts: RunnerClientOptions = {}) {
    this.address = address;
    this.token = opts.token;
    let creds: ChannelCredentials = credentials.createInsecure();
    if (opts.tls) {
      creds = opts.tls === true ? credentials.createSsl() : credentials.createSsl(opts.tls.ca ?? null, opts.tls.key ?? null, opts.tls.cert ?? null);
    }
    const options = { ...CHANNEL_OPTIONS, ...keepaliveOptions(), ...opts.channelOptions };
    this.client = new RunnerServiceClient(address, creds, options);
    this.health = new HealthClient(address, creds, options);
  }

  close(): void {
    this.client.close();
    this.health.close();
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    // The runner refuses a client of another protocol major version, naming both (protocol.ts).
    md.set(PROTOCOL_METADATA_KEY, PROTOCOL);
    md.set(CLIENT_VERSION_METADATA_KEY, VERSION);
    return md;
  }

  private fail(method: string, err: unknown): RunnerCallError {
    return callError(method, err as Error, this.address);
  }

  /** True when the runner's health service says SERVING (no token needed). */
  async healthy(opts: CallOpts = {}): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const call = this.health.check({ service: '' }, new Metadata(), grpcCallOptions(opts), (err, res) => {
        unlink();
        if (err) reject(this.fail('Health.Check', err));
        else resolve(res.status === HealthCheckResponse_ServingStatus.SERVING);
      });
      const unlink = linkAbort(opts.signal, call);
    });
  }

  /** What the runner can do; rejects with IncompatibleRunnerError when it speaks a protocol this client cannot use. */
  getCapabilities(opts: CallOpts = {}): Promise<RunnerCapabilities> {
    return new Promise((resolve, reject) => {
      const call = this.client.getCapabilities({}, this.metadata(), grpcCallOptions(opts), (err, res) => {
        unlink();
        const problem = err ? undefined : protocolProblem(res.protocol, res.runnerVersion);
        if (err) reject(this.fail('GetCapabilities', err));
        else if (problem) reject(new IncompatibleRunnerError(problem));
        else resolve(capabilitiesFromJson(res));
      });
      const unlink = linkAbort(opts.signal, call);
    });
  }

  /** The subset of `sha256s` the runner already holds. */
  hasArtifacts(sha256s: string[], opts: CallOpts = {}): Promise<Set<string>> {
    return new Promise((resolve, reject) => {
      const call = this.client.hasArtifacts({ sha256: sha256s }, this.metadata(), grpcCallOptions(opts), (err, res) => {
        unlink();
        if (err) reject(this.fail('HasArtifacts', err));
        else resolve(new Set(res.present));
      });
      const unlink = linkAbort(opts.signal, call);
    });
  }

  /**
   * Streams a file to the runner in 1 MiB chunks; the runner verifies `ref`.
   * @returns true if the runner already had it
   */
  async putArtifact(file: string, ref: ArtifactRef, opts: CallOpts = {}): Promise<boolean> {
    let unlink = () => {};
    const done = new Promise<boolean>((resolve, reject) => {
      const call = this.client.putArtifact(this.metadata(), grpcCallOptions(opts), (err, res) => {
        unlink();
        if (err) reject(this.fail('PutArtifact', err));
        else resolve(res.alreadyPresent);
      });
      unlink = linkAbort(opts.signal, call);
      void (async () => {
        try {
          call.write({ part: { $case: 'header', value: ref } });
          for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
            if (!call.write({ part: { $case: 'chunk', value: chunk as Buffer } })) await once(call, 'drain');
          }
          call.end();
        } catch (err) {
          call.cancel();
          reject(err);
        }
      })();
    });
    return done;
  }

  /**
   * Has a runner on this host take `file` into its store by path (copied there,
   * verified against `ref`): no bytes through gRPC. Only the local runner
   * accepts it (`serve --accept-paths`).
   * @returns true if the runner already had it
   */
  importArtifact(file: string, ref: ArtifactRef, opts: CallOpts = {}): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const call = this.client.importArtifact({ artifact: ref, path: path.resolve(file) }, this.metadata(), grpcCallOptions(opts), (err, res) => {
        unlink();
        if (err) reject(this.fail('ImportArtifact', err));
        else resolve(res.alreadyPresent);
      });
      const unlink = linkAbort(opts.signal, call);
    });
  }

  /**
   * Downloads an artifact into `dest` (atomically: temporary file, verified
   * against its sha256, then renamed).
   */
  async getArtifact(sha256: string, dest: string, opts: CallOpts = {}): Promise<ArtifactRef> {
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.part`;
    const out = createWriteStream(tmp);
    const hash = createHash('sha256');
    const call = this.client.getArtifact({ sha256 }, this.metadata(), grpcCallOptions(opts));
    const unlink = linkAbort(opts.signal, call);
    let header: ArtifactRef | undefined;
    try {
      for await (const msg of call as AsyncIterable<{ part?: { $case: 'header'; value: ArtifactRef } | { $case: 'chunk'; value: Buffer } }>) {
        if (msg.part?.$case === 'header') header = msg.part.value;
        else if (msg.part?.$case === 'chunk') {
          hash.update(msg.part.value);
          if (!out.write(msg.part.value)) await once(out, 'drain');
        }
      }
      out.end();
      await once(out, 'finish');
      const got = hash.digest('hex');
      if (got !== sha256) throw new RunnerCallError('GetArtifact', 15, `downloaded bytes hash to ${got}, not ${sha256}`, undefined, this.address);
      await rename(tmp, dest);
      return header ?? { sha256, size: 0, mediaType: '' };
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw this.fail('GetArtifact', err);
    } finally {
      unlink();
    }
  }

  /**
   * Runs a stage; progress/log/lease events go to `onEvent`. Resolves with the
   * stage's result. Aborting `signal` cancels the stage on the runner.
   */
  async runStage(req: StageRunRequest, onEvent: (e: StageEvent) => void, opts: CallOpts = {}): Promise<StageRunResult> {
    const request: RunStageRequest = { stage: req.stage, cell: req.cell, inputs: req.inputs, paramsJson: JSON.stringify(req.params) };
    const call = this.client.runStage(request, this.metadata(), grpcCallOptions(opts));
    const unlink = linkAbort(opts.signal, call);
    try {
      let result: StageResult | undefined;
      for await (const msg of call as AsyncIterable<{ event?: { $case: string; value: unknown } }>) {
        const ev = msg.event;
        if (!ev) continue;
        if (ev.$case === 'result') result = ev.value as StageResult;
        else if (ev.$case === 'progress') onEvent({ kind: 'progress', ...(ev.value as Progress) });
        else if (ev.$case === 'log') onEvent({ kind: 'log', level: levelName((ev.value as LogLine).level), message: (ev.value as LogLine).message });
        else if (ev.$case === 'heartbeat') onEvent({ kind: 'heartbeat', elapsedSeconds: (ev.value as { elapsedSeconds: number }).elapsedSeconds });
        else if (ev.$case === 'lease') onEvent({ kind: 'lease', lease: leaseRecord(ev.value as DeviceLease) });
      }
      if (!result) throw new RunnerCallError('RunStage', 13, `stage ${req.stage} ended without a result`, undefined, this.address);
      return stageRunResult(result);
    } catch (err) {
      throw this.fail('RunStage', err);
    } finally {
      unlink();
    }
  }
}
