/**
 * The local runner's capabilities (which make its targets' identity in cache
 * keys, plan/target-identity.ts) are remembered per Python environment, so a fully cached re-run needs no
 * runner at all: the fingerprint changes when the Python executable, its
 * site-packages or the runner's sources change.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import { RUNNER_SOURCE } from '../paths.js';
import { capabilitiesFromJson, capabilitiesJson, type RunnerCapabilities } from '../runner-client/capabilities.js';
import { runnerWheel } from '../runner-client/runner-env.js';
import { writeFileAtomic } from '../store/atomic.js';

/** A fingerprint of the local runner's environment; undefined if Python cannot be found on disk. */
export function localFingerprint(python: string): string | undefined {
  let exe: string;
  try {
    exe = realpathSync(python.includes(path.sep) ? python : which(python) ?? python);
  } catch {
    return undefined;
  }
  const parts: unknown[] = [exe, mtime(exe)];
  // A virtual environment: its site-packages folders change when packages do.
  const venv = path.dirname(path.dirname(python));
  const lib = path.join(venv, 'lib');
  if (existsSync(path.join(venv, 'pyvenv.cfg')) && existsSync(lib)) {
    for (const d of readdirSync(lib)) parts.push(d, mtime(path.join(lib, d, 'site-packages')));
  }
  parts.push(sourceStamp(path.join(RUNNER_SOURCE, 'trtpipe_runner')));
  // The packaged runner (on --python's PYTHONPATH, or installed into the managed environment).
  const wheel = runnerWheel();
  if (wheel) parts.push(wheel.file, mtime(wheel.file));
  return sha256Hex(canonicalJson(parts));
}

export function readCachedCapabilities(dir: string, fingerprint: string): RunnerCapabilities | undefined {
  try {
    return capabilitiesFromJson(JSON.parse(readFileSync(path.join(dir, `${fingerprint}.json`), 'utf8')));
  } catch {
    return undefined;
  }
}

export async function writeCachedCapabilities(dir: string, fingerprint: string, caps: RunnerCapabilities): Promise<void> {
  await writeFileAtomic(path.join(dir, `${fingerprint}.json`), JSON.stringify(capabilitiesJson(caps)));
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

/** Sizes and modification times of the runner's source files. */
function sourceStamp(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '__pycache__') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.py')) {
        const st = statSync(p);
        out.push(`${p}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return sha256Hex(out.sort().join('\n'));
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}
