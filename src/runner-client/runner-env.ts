/**
 * Which Python runs the local runner, and the environment trtpipe makes for
 * it. In order: --python / $TRTPIPE_PYTHON (used as is, the runner put on its
 * PYTHONPATH); a checkout's .venv (`npm run setup`); else a virtual
 * environment in the per-user cache, made on first use from the runner wheel
 * the npm package carries, pinned by its requirements.lock, and keyed by the
 * runner's version, the Python version and the wheel's content. Nothing is
 * ever written into the package folder (node_modules).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RunnerUnavailableError } from '../errors.js';
import { CHECKOUT_VENV, RUNNER_DIST, RUNNER_SOURCE } from '../paths.js';
import { withFileLock } from '../store/file-lock.js';

/** The Python to run the local runner with, and how it was chosen. */
export interface LocalPython {
  python: string;
  /** explicit: --python or $TRTPIPE_PYTHON; checkout: the checkout's .venv; managed: the cache environment. */
  kind: 'explicit' | 'checkout' | 'managed';
  /** Where the runner's code is put on PYTHONPATH (explicit and checkout). */
  pythonPath?: string;
  /** The managed environment's folder. */
  envDir?: string;
}

const READY = '.trtpipe-ready';

/** trtpipe's per-user cache: $TRTPIPE_CACHE_DIR, else $XDG_CACHE_HOME/trtpipe, else ~/.cache/trtpipe. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRTPIPE_CACHE_DIR) return path.resolve(env.TRTPIPE_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'trtpipe');
}

/** The runner wheel this package carries, or undefined (a checkout before `npm pack`). */
export function runnerWheel(): { file: string; version: string; lock: string } | undefined {
  const names = existsSync(RUNNER_DIST) ? readdirSync(RUNNER_DIST).filter((f) => /^trtpipe_runner-.+\.whl$/.test(f)) : [];
  if (names.length !== 1) return undefined;
  const file = path.join(RUNNER_DIST, names[0]!);
  return { file, version: names[0]!.split('-')[1]!, lock: path.join(RUNNER_DIST, 'requirements.lock') };
}

/** Picks the local runner's Python without creating anything. */
export function chooseLocalPython(explicit?: string): LocalPython {
  const chosen = explicit || process.env.TRTPIPE_PYTHON;
  const code = existsSync(RUNNER_SOURCE) ? RUNNER_SOURCE : runnerWheel()?.file;
  if (chosen) return { python: chosen, kind: 'explicit', ...(code ? { pythonPath: code } : {}) };
  const venv = path.join(CHECKOUT_VENV, 'bin', 'python');
  if (existsSync(venv)) return { python: venv, kind: 'checkout', pythonPath: RUNNER_SOURCE };
  const envDir = managedEnvDir();
  return { python: path.join(envDir, 'bin', 'python'), kind: 'managed', envDir };
}

/**
 * The local runner's Python, its managed environment made first when it is
 * missing (minutes: the runner's dependencies are downloaded by pip). Safe to
 * call from several processes at once: one makes it, the others wait.
 */
export async function ensureLocalPython(explicit?: string, onProgress: (line: string) => void = () => {}): Promise<LocalPython> {
  const choice = chooseLocalPython(explicit);
  if (choice.kind !== 'managed') return choice;
  const dir = choice.envDir!;
  while (!existsSync(path.join(dir, READY))) {
    await withFileLock(`${dir}.lock`, async () => {
      if (!existsSync(path.join(dir, READY))) await createEnv(dir, onProgress);
    });
  }
  return choice;
}

let envDirMemo: string | undefined;

function managedEnvDir(): string {
  if (envDirMemo) return envDirMemo;
  const wheel = runnerWheel();
  if (!wheel) {
    throw new RunnerUnavailableError(
      'no Python for the local runner: this trtpipe checkout has no .venv; run `npm run setup` in it, or pass --python (or set TRTPIPE_PYTHON)',
    );
  }
  const hash = createHash('sha256').update(readFileSync(wheel.file)).update(readFileSync(wheel.lock)).digest('hex').slice(0, 12);
  envDirMemo = path.join(cacheRoot(), 'runner', `${wheel.version}-py${basePythonVersion()}-${hash}`);
  return envDirMemo;
}

/** The base interpreter the environment is made from. */
function basePython(): string {
  return process.env.TRTPIPE_BASE_PYTHON || 'python3';
}

let versionMemo: string | undefined;

function basePythonVersion(): string {
  if (versionMemo) return versionMemo;
  const base = basePython();
  const r = spawnSync(base, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
  const version = r.status === 0 ? r.stdout.trim() : '';
  const [major, minor] = version.split('.').map(Number);
  if (!version || major !== 3 || minor! < 11) {
    const found = r.error ? `'${base}' was not found` : version ? `'${base}' is Python ${version}` : `'${base}' failed: ${r.stderr.trim()}`;
    throw new RunnerUnavailableError(
      `the local runner needs Python 3.11 or newer to make its environment, and ${found}. Install Python 3.11+ (as python3, or name it with TRTPIPE_BASE_PYTHON), or pass --python with a Python that has the runner's dependencies`,
    );
  }
  versionMemo = version;
  return version;
}

async function createEnv(dir: string, onProgress: (line: string) => void): Promise<void> {
  const wheel = runnerWheel()!;
  const log = `${dir}.setup.log`;
  const t0 = performance.now();
  await rm(dir, { recursive: true, force: true });
  await rm(log, { force: true });
  onProgress(
    `making the local runner's Python environment (first use of trtpipe-runner ${wheel.version} with Python ${basePythonVersion()}): ${dir}`,
  );
  try {
    await run(basePython(), ['-m', 'venv', dir], log, 'python -m venv');
    onProgress('installing trtpipe-runner and its pinned dependencies with pip (about 100 MB to download the first time)');
    // The pinned dependencies with their hashes checked (a tampered or substituted download fails),
    // then the runner itself, whose dependencies those are: the Dockerfile's two steps.
    const pip = [path.join(dir, 'bin', 'python'), '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'] as const;
    await run(pip[0], [...pip.slice(1), '--require-hashes', '-r', wheel.lock], log, 'pip install --require-hashes');
    await run(pip[0], [...pip.slice(1), '--no-deps', wheel.file], log, 'pip install (the runner wheel)');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const seconds = (performance.now() - t0) / 1000;
  await writeFile(
    path.join(dir, READY),
    `${JSON.stringify({ runner: wheel.version, wheel: path.basename(wheel.file), seconds: Number(seconds.toFixed(1)), created: new Date().toISOString() })}\n`,
  );
  onProgress(`local runner environment ready in ${seconds.toFixed(0)} s`);
}

/** Runs a setup step with its output appended to `log`; fails with the log's last lines. */
async function run(command: string, args: string[], log: string, what: string): Promise<void> {
  const fd = openSync(log, 'a');
  const code = await new Promise<number | string>((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    child.on('error', (err) => resolve(err.message));
    child.on('exit', (c, signal) => resolve(c ?? String(signal)));
  });
  closeSync(fd);
  if (code === 0) return;
  const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
  const hint = /ensurepip is not available/.test(tail) ? ' (Debian and Ubuntu: apt install python3-venv)' : '';
  throw new RunnerUnavailableError(
    `could not make the local runner's Python environment: ${what} failed (${code})${hint}:\n${tail}\nFull log: ${log}. Fix the cause and run \`trtpipe setup\` again, or pass --python`,
  );
}
