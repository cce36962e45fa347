/**
 * `trtpipe setup [--python PATH] [--json]`: makes the local runner's Python
 * environment now (what the first `run` or `init` would otherwise do), then
 * starts the runner's capability probe in it, so a broken environment shows
 * here and not in the middle of a run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ExitCode } from '../exit-codes.js';
import { prepareLocalRunner } from '../local-runner-setup.js';
import { InputError, RunnerUnavailableError } from '../../errors.js';

interface Capabilities {
  runner_version: string;
  protocol: string;
  versions: Record<string, string>;
  backends: { name: string; available: boolean; version: string; reason?: string }[];
}

export default async function setup(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { python: { type: 'string' }, json: { type: 'boolean' } } }));
  } catch (err) {
    throw new InputError(`${(err as Error).message}; usage: trtpipe setup [--python PATH] [--json]`);
  }
  const t0 = performance.now();
  const choice = (await prepareLocalRunner(values.python))!;
  const caps = await probe(choice.python, choice.pythonPath);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ python: choice.python, kind: choice.kind, envDir: choice.envDir ?? null, seconds: (performance.now() - t0) / 1000, capabilities: caps }, null, 2)}\n`);
    return ExitCode.Ok;
  }
  const where = choice.kind === 'managed' ? `environment ${choice.envDir}` : choice.kind === 'checkout' ? `this checkout's .venv (${choice.python})` : `${choice.python} (--python / TRTPIPE_PYTHON)`;
  const why = (b: Capabilities['backends'][number]) => (b.reason?.startsWith(b.name) ? b.reason : `${b.name}: ${b.reason || 'unavailable'}`);
  const backends = caps.backends.map((b) => (b.available ? `${b.name} ${b.version}` : why(b))).join('; ');
  process.stdout.write(
    `local runner: trtpipe-runner ${caps.runner_version} (${caps.protocol}), Python ${caps.versions.python ?? '?'}, in ${where}\n` +
      `backends: ${backends}\n`,
  );
  return ExitCode.Ok;
}

/** Runs `python -m trtpipe_runner capabilities` in the chosen environment. */
function probe(python: string, pythonPath?: string): Promise<Capabilities> {
  const store = mkdtempSync(path.join(os.tmpdir(), 'trtpipe-setup-'));
  const env = { ...process.env, PYTHONPATH: [pythonPath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  return new Promise<Capabilities>((resolve, reject) => {
    execFile(python, ['-m', 'trtpipe_runner', 'capabilities', '--store', store], { env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      rmSync(store, { recursive: true, force: true });
      if (err) {
        reject(new RunnerUnavailableError(`the local runner does not start with ${python}: ${(stderr || err.message).trim().split('\n').slice(-8).join('\n')}`));
        return;
      }
      resolve(JSON.parse(stdout) as Capabilities);
    });
  });
}
