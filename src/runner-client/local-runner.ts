/**
 * The embedded default: a runner process trtpipe spawns on loopback with a
 * random token, and stops when the run ends (or when trtpipe dies: the
 * runner exits when its stdin closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../cli/exit-codes.js';
import { UserError } from '../cli/user-error.js';
import { PACKAGE_ROOT, RUNNER_SOURCE } from '../paths.js';

export interface LocalRunner {
  /** 127.0.0.1:<port> */
  address: string;
  token: string;
  process: ChildProcess;
  /** The last lines the runner wrote to stderr (for error messages). */
  stderrTail(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  python?: string;
  storeDir: string;
  /** The bearer token (default: a random one). */
  token?: string;
  /** Runner stderr is appended here as well. */
  logFile?: string;
  startTimeoutMs?: number;
}

/** The Python that runs the local runner: --python, $TRTPIPE_PYTHON, trtpipe's .venv, python3. */
export function resolvePython(explicit?: string): string {
  if (explicit) return explicit;
  if (process.env.TRTPIPE_PYTHON) return process.env.TRTPIPE_PYTHON;
  const venv = path.join(PACKAGE_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

export async function spawnLocalRunner(opts: SpawnOptions): Promise<LocalRunner> {
  const python = resolvePython(opts.python);
  const token = opts.token ?? randomBytes(24).toString('hex');
  mkdirSync(opts.storeDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRTPIPE_RUNNER_TOKEN: token,
    TRTPIPE_RUNNER_WATCH_STDIN: '1',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: [RUNNER_SOURCE, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  // --accept-paths: on this host, artifacts are taken by path (RunnerClient.importArtifact), not streamed.
  const child = spawn(python, ['-m', 'trtpipe_runner', 'serve', '--listen', '127.0.0.1:0', '--store', opts.storeDir, '--accept-paths', '--log-level', 'warning'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log: WriteStream | undefined;
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }
  const tail: string[] = [];
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    log?.write(text);
    tail.push(...text.split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      log?.end();
      resolve({ code, signal });
    });
  });
  const stderrTail = () => tail.join('\n');

  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(startError(python, `it did not report a port within ${(opts.startTimeoutMs ?? 60_000) / 1000}s`, stderrTail()));
    }, opts.startTimeoutMs ?? 60_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new UserError(`cannot start the local runner: '${python}' not found. Run \`npm run setup\` in the trtpipe folder, or pass --python`, ExitCode.RunnerUnavailable)
          : startError(python, err.message, stderrTail()),
      );
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      buffer += text;
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        const n = Number(line.trim());
        if (Number.isInteger(n) && n > 0) resolve(n);
        else reject(startError(python, `it printed '${line}' instead of its port`, stderrTail()));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(startError(python, `it exited (${signal ?? `code ${code}`}) before serving`, stderrTail()));
    });
  });

  return {
    address: `127.0.0.1:${port}`,
    token,
    process: child,
    stderrTail,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function startError(python: string, why: string, stderr: string): UserError {
  const missing = /No module named '?(\w+)/.exec(stderr);
  const hint = missing
    ? `Python module '${missing[1]}' is missing for ${python}: run \`npm run setup\` in the trtpipe folder`
    : 'its last output follows';
  return new UserError(`cannot start the local runner with ${python}: ${why}. ${hint}${stderr ? `\n${indent(stderr)}` : ''}`, ExitCode.RunnerUnavailable);
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n');
}
