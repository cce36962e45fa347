/** Real runner processes on loopback, as "remote" runners for pool tests. */
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { RUNNER_SOURCE } from '../../src/paths.js';
import { resolvePython, spawnLocalRunner, type LocalRunner } from '../../src/runner-client/local-runner.js';
import { tempDir } from './paths.js';

export const POOL_TOKEN = 'pool-test-token';

/** Starts `n` runners sharing one token, each with its own store (and `threads` host threads, if given). */
export async function startRunners(n: number, opts: { threads?: number; cudaVisibleDevices?: string } = {}): Promise<LocalRunner[]> {
  const dir = tempDir('trtpipe-runners-');
  const saved = process.env.TRTPIPE_RUNNER_TOKEN;
  const runners: LocalRunner[] = [];
  for (let i = 0; i < n; i++) {
    runners.push(await spawnLocalRunner({ storeDir: path.join(dir, `store-${i}`), token: POOL_TOKEN, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.cudaVisibleDevices !== undefined ? { cudaVisibleDevices: opts.cudaVisibleDevices } : {}) }));
  }
  if (saved !== undefined) process.env.TRTPIPE_RUNNER_TOKEN = saved;
  return runners;
}

export async function stopRunners(rs: LocalRunner[]): Promise<void> {
  await Promise.all(rs.map((r) => r.stop(1000)));
}

/** A self-signed certificate for 127.0.0.1/localhost (openssl), usable as CA, server and client cert. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** A runner serving TLS (optionally requiring client certificates signed by `clientCa`). */
export function startTlsRunner(dir: string, tls: { cert: string; key: string; clientCa?: string }): Promise<ServedRunner> {
  return serveRunner(path.join(dir, 'tls-store'), ['--tls-cert', tls.cert, '--tls-key', tls.key, ...(tls.clientCa ? ['--tls-client-ca', tls.clientCa] : [])]);
}

export interface ServedRunner {
  address: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A runner started as a remote one is (`trtpipe-runner serve` with the pool token), not spawned by
 * trtpipe; `env` adds to this process's environment (the keepalive knobs, for example).
 * `speaking`: the real runner with its protocol version set to this one, as a runner of another
 * release would state it (the protocol tests).
 */
export async function serveRunner(store: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, speaking?: string): Promise<ServedRunner> {
  const python = resolvePython();
  const serve = ['serve', '--listen', '127.0.0.1:0', '--store', store, ...args];
  const launch = speaking
    ? ['-c', `import sys, trtpipe_runner; trtpipe_runner.PROTOCOL = ${JSON.stringify(speaking)}; from trtpipe_runner.cli import main; sys.exit(main(sys.argv[1:]))`, ...serve]
    : ['-m', 'trtpipe_runner', ...serve];
  const child = spawn(python, launch, {
    env: { ...process.env, ...env, TRTPIPE_RUNNER_TOKEN: POOL_TOKEN, PYTHONPATH: [RUNNER_SOURCE, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    stdio: ['ignore', 'pipe', 'ignore'], // the refused handshakes of the mTLS test log there
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (t: string) => resolve(t.trim().split('\n')[0]!));
    child.once('exit', (code) => reject(new Error(`runner exited (${code})`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    port: Number(port),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
