/**
 * The embedded default: a runner process trtpipe spawns on loopback with a
 * random token, and stops when the run ends (or when trtpipe dies: the
 * runner exits when its stdin closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { maskEnvValues } from '../config/env-values.js';
import { RunnerUnavailableError } from '../errors.js';
import { chooseLocalPython, ensureLocalPython, type LocalPython } from './runner-env.js';

export interface LocalRunner {
  /** 127.0.0.1:<port> */
  address: string;
  /** The Python it runs on. */
  python: string;
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
  /** --python / $TRTPIPE_PYTHON; default: the checkout's .venv, else the managed environment (runner-env.ts). */
  python?: string;
  storeDir: string;
  /** The bearer token (default: a random one). */
  token?: string;
  /** Runner stderr is appended here as well. */
  logFile?: string;
  startTimeoutMs?: number;
  /** Host threads for its math libraries (ONNX Runtime intra-op, PyTorch, BLAS); default: theirs (all cores). */
  threads?: number;
  /** Pins it to these GPUs (CUDA_VISIBLE_DEVICES). */
  cudaVisibleDevices?: string;
}

/** The Python that runs the local runner (runner-env.ts), without making its environment. */
export function resolvePython(explicit?: string): string {
  return chooseLocalPython(explicit).python;
}

/**
 * Starts the local runner; a managed environment missing so far is made first,
 * silently (the CLI makes it beforehand, with progress: cli/local-runner-setup.ts).
 */
export async function spawnLocalRunner(opts: SpawnOptions): Promise<LocalRunner> {
  const choice = await ensureLocalPython(opts.python);
  const python = choice.python;
  const token = opts.token ?? randomBytes(24).toString('hex');
  mkdirSync(opts.storeDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRTPIPE_RUNNER_TOKEN: token,
    TRTPIPE_RUNNER_WATCH_STDIN: '1',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: [choice.pythonPath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    ...(opts.cudaVisibleDevices !== undefined ? { CUDA_VISIBLE_DEVICES: opts.cudaVisibleDevices } : {}),
    // Read before the libraries load (OpenMP, BLAS) and by the runner for ONNX Runtime (trtpipe_runner/threads.py).
    ...(opts.threads
      ? {
          TRTPIPE_RUNNER_THREADS: String(opts.threads),
          OMP_NUM_THREADS: String(opts.threads),
          MKL_NUM_THREADS: String(opts.threads),
          OPENBLAS_NUM_THREADS: String(opts.threads),
        }
      : {}),
  };
  // --accept-paths: on this host, artifacts are taken by path (RunnerClient.importArtifact), not streamed.
  const child = spawn(
    python,
    ['-m', 'trtpipe_runner', 'serve', '--listen', '127.0.0.1:0', '--store', opts.storeDir, '--accept-paths', '--log-level', 'warning'],
    {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let log: WriteStream | undefined;
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }
  // Whole lines, values taken from the environment masked (config/env-values.ts): the log and the
  // tail that error messages quote are text trtpipe writes, and CI uploads them.
  const tail: string[] = [];
  let partial = '';
  const emit = (text: string) => {
    const masked = maskEnvValues(text);
    log?.write(masked);
    tail.push(...masked.split('\n').filter(Boolean));
    if (tail.length > 40) tail.splice(0, tail.length - 40);
  };
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    const all = partial + text;
    const end = all.lastIndexOf('\n');
    partial = all.slice(end + 1);
    if (end >= 0) emit(all.slice(0, end + 1));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (partial) emit(partial); // a last line without its newline
      partial = '';
      log?.end();
      resolve({ code, signal });
    });
  });
  const stderrTail = () => tail.join('\n');

  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(startError(choice, `it did not report a port within ${(opts.startTimeoutMs ?? 60_000) / 1000}s`, stderrTail()));
    }, opts.startTimeoutMs ?? 60_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new RunnerUnavailableError(`cannot start the local runner: '${python}' not found. ${remedy(choice)}`)
          : startError(choice, err.message, stderrTail()),
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
        else reject(startError(choice, `it printed '${line}' instead of its port`, stderrTail()));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(startError(choice, `it exited (${signal ?? `code ${code}`}) before serving`, stderrTail()));
    });
  });

  return {
    address: `127.0.0.1:${port}`,
    python,
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

function startError(choice: LocalPython, why: string, stderr: string): RunnerUnavailableError {
  const missing = /No module named '?(\w+)/.exec(stderr);
  const hint = missing ? `Python module '${missing[1]}' is missing for ${choice.python}: ${remedy(choice)}` : 'its last output follows';
  return new RunnerUnavailableError(
    `cannot start the local runner with ${choice.python}: ${why}. ${hint}${stderr ? `\n${indent(stderr)}` : ''}`,
  );
}

/** What the user can do about a local runner that does not start, by how its Python was chosen. */
function remedy(choice: LocalPython): string {
  if (choice.kind === 'explicit')
    return "install the runner's dependencies there (pip install -r runner-py/requirements.lock, or the runner wheel), or drop --python / TRTPIPE_PYTHON";
  if (choice.kind === 'checkout') return 'run `npm run setup` in the trtpipe folder';
  return `delete ${choice.envDir} and run \`trtpipe setup\` to make it again, or pass --python`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
