/**
 * trtpipe installed the way users install it: `npm pack`, `npm install -D` of the tarball into a
 * fresh project outside this repository, `trtpipe init` on a model copied there and `trtpipe run`
 * on the pipeline it wrote; the runner wheel the package carries, installed by that first use into a
 * fresh virtual environment in the user cache, also serves a remote target of a run through its
 * `trtpipe-runner serve` entry point. No network: npm and pip install from what `npm run setup:test`
 * cached (scripts/setup-ci-tools.sh). Timings go to stdout for the record, never asserted.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

const WHEELHOUSE = path.join(ROOT, '.tools', 'wheelhouse');
const TOKEN = 'package-test-token';

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function timed<T>(what: string, work: () => T): T {
  const t0 = performance.now();
  const out = work();
  console.log(`    package test: ${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

test('pack, install into a fresh project, init and run there; the wheel serves a remote target', async () => {
  assert.ok(existsSync(WHEELHOUSE), `${WHEELHOUSE} is missing: run \`npm run setup:test\``);
  const tmp = tempDir('trtpipe-package-');
  try {
    await packageRoundTrip(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true }); // the environment alone is about 250 MB
  }
});

async function packageRoundTrip(tmp: string): Promise<void> {
  const project = path.join(tmp, 'project');
  const cache = path.join(tmp, 'cache');
  mkdirSync(path.join(project, 'models', 'digits'), { recursive: true });
  // dist/ is built (scripts/test.sh): pack runs only prepack's wheel build, not prepare's tsc again.
  const tarball = timed('build the wheel and pack', () => {
    execFileSync('bash', [path.join(ROOT, 'scripts', 'build-wheel.sh')], { stdio: 'ignore' });
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: ROOT, encoding: 'utf8' });
    return path.join(tmp, (JSON.parse(out) as { filename: string }[])[0]!.filename);
  });
  writeFileSync(path.join(project, 'package.json'), '{ "name": "models", "version": "1.0.0", "private": true }\n');
  timed('npm install -D of the tarball', () => {
    execFileSync('npm', ['install', '-D', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
      cwd: project,
      stdio: 'ignore',
    });
  });
  for (const f of ['model.onnx', 'eval.npz', 'calib.npz'])
    copyFileSync(path.join(EXAMPLES, 'digits', f), path.join(project, 'models', 'digits', f));
  const installed = path.join(project, 'node_modules', 'trtpipe');
  const before = files(installed);
  assert.not.ok(
    before.some((f) => f.startsWith('test') || f.startsWith('dist/test') || f.startsWith('runner-py')),
    'tests or sources in the package',
  );

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CI: '1',
    TRTPIPE_CACHE_DIR: cache,
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: WHEELHOUSE,
    REMOTE_TOKEN: TOKEN,
  };
  delete env.TRTPIPE_PYTHON;
  delete env.TRTPIPE_STATE_DIR;
  const trtpipe = (args: string[]) => spawnSync('npx', ['--no', 'trtpipe', ...args], { cwd: project, env, encoding: 'utf8' });

  const init = timed('first use: trtpipe init, making the runner environment', () => trtpipe(['init', 'models/digits/model.onnx']));
  assert.is(init.status, 0, init.stdout + init.stderr);
  assert.match(init.stderr, "trtpipe: making the local runner's Python environment (first use of trtpipe-runner");
  assert.match(init.stdout, 'wrote pipelines/digits.yaml');
  const written = readFileSync(path.join(project, 'pipelines', 'digits.yaml'), 'utf8');
  const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(written)![1]!;
  assert.is(schema, '../node_modules/trtpipe/pipelines/schema/pipeline.schema.json');
  assert.ok(existsSync(path.join(project, 'pipelines', schema)));

  const run = timed('second use: trtpipe run pipelines/digits.yaml', () => trtpipe(['run', 'pipelines/digits.yaml']));
  assert.is(run.status, 0, run.stdout + run.stderr);
  assert.not.match(run.stderr, 'making the local runner');
  assert.match(run.stdout, /run \S+: ok/);

  // The environment: in the cache, keyed by runner and Python version; the package folder untouched.
  const [envName] = readdirSync(path.join(cache, 'runner'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.match(envName!, /^0\.1\.0-py3\.\d+-[0-9a-f]{12}$/);
  assert.equal(files(installed), before);

  const setup = trtpipe(['setup']);
  assert.is(setup.status, 0, setup.stdout + setup.stderr);
  assert.match(setup.stdout, `local runner: trtpipe-runner 0.1.0 (trtpipe.runner.v1.0), Python 3.`);
  assert.match(setup.stdout, `in environment ${path.join(cache, 'runner', envName!)}`);
  assert.match(setup.stdout, /backends: onnxruntime \d/);

  // Failures say what and where, exit 3, and leave no half-made environment behind.
  const broken = path.join(tmp, 'broken-cache');
  mkdirSync(path.join(tmp, 'no-wheels'));
  const failed = spawnSync('npx', ['--no', 'trtpipe', 'setup'], {
    cwd: project,
    env: { ...env, TRTPIPE_CACHE_DIR: broken, PIP_FIND_LINKS: path.join(tmp, 'no-wheels') },
    encoding: 'utf8',
  });
  assert.is(failed.status, 3, failed.stdout + failed.stderr);
  assert.match(failed.stderr, "trtpipe: could not make the local runner's Python environment: pip install --require-hashes failed (1)");
  assert.match(failed.stderr, `Full log: ${path.join(broken, 'runner', envName!)}.setup.log`);
  assert.equal(readdirSync(path.join(broken, 'runner')), [`${envName}.setup.log`]);
  const noPython = spawnSync('npx', ['--no', 'trtpipe', 'init', 'models/digits/model.onnx', '-o', 'other.yaml'], {
    cwd: project,
    env: { ...env, TRTPIPE_CACHE_DIR: broken, TRTPIPE_BASE_PYTHON: path.join(tmp, 'no-python') },
    encoding: 'utf8',
  });
  assert.is(noPython.status, 3, noPython.stdout + noPython.stderr);
  assert.match(
    noPython.stderr,
    `the local runner needs Python 3.11 or newer to make its environment, and '${path.join(tmp, 'no-python')}' was not found`,
  );
  assert.not.ok(existsSync(path.join(project, 'other.yaml')));

  const served = await serve(path.join(cache, 'runner', envName!, 'bin', 'trtpipe-runner'), path.join(tmp, 'remote-store'));
  try {
    writeFileSync(
      path.join(project, 'pipelines', 'remote.yaml'),
      `extends: digits.yaml
targets:
  - { name: cpu, runner: local, backend: onnxruntime }
  - { name: remote, runner: "grpc://${served.address}", token_env: REMOTE_TOKEN, backend: onnxruntime }
matrix: { precision: [fp16], target: [remote] }
`,
    );
    // --no-cache: the remote runner has the local one's identity (same versions, no GPU), so its cells would come from the cache.
    const remote = timed('trtpipe run with a remote target served by the wheel', () =>
      trtpipe(['run', 'pipelines/remote.yaml', '--no-cache']),
    );
    assert.is(remote.status, 0, remote.stdout + remote.stderr);
    const runId = /^run (\S+): ok/m.exec(remote.stdout)![1]!;
    const record = JSON.parse(readFileSync(path.join(project, '.trtpipe', 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(
      record.cells.map((c) => [c.name, c.status]),
      [['digits@fp16-remote', 'ok']],
    );
    for (const node of ['inspect', 'transform@fp16', 'build@fp16-remote', 'evaluate@fp16-remote'])
      assert.is(record.stages[node]?.runner, served.address, node);
  } finally {
    await served.stop();
  }
}

/** `trtpipe-runner serve` as a GPU host runs it (the wheel's console script). */
async function serve(exe: string, store: string): Promise<{ address: string; stop(): Promise<void> }> {
  const child = spawn(exe, ['serve', '--listen', '127.0.0.1:0', '--store', store], {
    env: { ...process.env, TRTPIPE_RUNNER_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (t: string) => resolve(t.trim().split('\n')[0]!));
    child.once('exit', (code) => reject(new Error(`trtpipe-runner serve exited (${code})`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

test.run();
