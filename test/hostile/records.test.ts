/**
 * Non-finite data and the run record (issue 13 items 2 and 6, and the class "the run record is
 * written first and completed last"): NaN/Inf data is refused before any stage with the array,
 * sample and count, unless allowed; allowed, it never crashes a renderer; a full disk ends with
 * exit 5 and a run.json that says how far the run got; history never names a run without a folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editNpz } from '../helpers/npz.js';
import { CLI } from '../helpers/paths.js';
import { assertNoStack, digitsPipeline, sandbox, type Sandbox } from '../helpers/sandbox.js';

/** Every run history.jsonl names has its folder with a run.json. */
function assertHistoryHasFolders(s: Sandbox): void {
  const file = path.join(s.state, 'history.jsonl');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const id = (JSON.parse(line) as { id: string }).id;
    assert.ok(existsSync(path.join(s.state, 'runs', id, 'run.json')), `history names run ${id}, which has no run.json`);
  }
}

const refusals: [string, (s: Sandbox) => string, string][] = [
  [
    'item 2: NaN and Inf in the evaluation data',
    (s) => {
      editNpz(path.join(s.dir, 'eval.npz'), path.join(s.dir, 'nan.npz'), "z['input'][3] = np.nan\nz['input'][5, 0, 0, 0] = np.inf");
      return digitsPipeline('', { evalNpz: './nan.npz' });
    },
    "trtpipe: evaluation data nan.npz: array 'input' has 65 NaN or infinite value(s) in 2 sample(s), the first at sample 3. Clean the data, or set data.evaluation.allow_nonfinite: true to measure with it\n",
  ],
  [
    'item 2: one -Inf in compressed evaluation data',
    (s) => {
      editNpz(path.join(s.dir, 'eval.npz'), path.join(s.dir, 'inf.npz'), "z['input'][536, 0, 7, 7] = -np.inf", true);
      return digitsPipeline('', { evalNpz: './inf.npz' });
    },
    "trtpipe: evaluation data inf.npz: array 'input' has 1 NaN or infinite value(s) in 1 sample(s), the first at sample 536.",
  ],
  [
    'item 2: NaN in the calibration data',
    (s) => {
      editNpz(path.join(s.dir, 'calib.npz'), path.join(s.dir, 'cnan.npz'), "z['input'][0, 0, 0, :] = np.nan");
      return digitsPipeline('', { calibNpz: './cnan.npz', precision: 'int8' });
    },
    "trtpipe: calibration data cnan.npz: array 'input' has 8 NaN or infinite value(s) in 1 sample(s), the first at sample 0. Clean the data, or set data.calibration.allow_nonfinite: true to measure with it\n",
  ],
  [
    'NaN in a float16 .npy of a data folder',
    (s) => {
      mkdirSync(path.join(s.dir, 'evaldir'));
      execFileSync(path.join(process.cwd(), '.venv', 'bin', 'python'), [
        '-c',
        "import numpy as np, sys; z = np.load(sys.argv[1]); np.save(sys.argv[2] + '/input.npy', z['input'].astype(np.float16) * np.float16(np.nan)); np.save(sys.argv[2] + '/labels.npy', z['labels'])",
        path.join(s.dir, 'eval.npz'),
        path.join(s.dir, 'evaldir'),
      ]);
      return digitsPipeline('').replace('{ npz: ./eval.npz, labels: labels }', '{ dir: ./evaldir, labels: labels }');
    },
    "trtpipe: evaluation data evaldir/input.npy: array 'input' has 34368 NaN or infinite value(s) in 537 sample(s), the first at sample 0.",
  ],
];

for (const [name, setup, message] of refusals) {
  test(`${name}: refused before any stage, exit 2, no run folder, nothing outside the state folder changed`, async () => {
    const s = sandbox();
    s.write('p.yaml', setup(s));
    s.rebase();
    const r = await s.cli(['run', 'p.yaml']);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(message), `expected «${message}» in:\n${r.stderr}`);
    assertNoStack(r.stderr);
    assert.not.ok(existsSync(path.join(s.state, 'runs')), 'refused at validation: no run folder');
    s.assertUntouched();
  });
}

test('item 2: allowed NaN data runs, and every renderer (report, explain, compare) shows NaN instead of crashing', async () => {
  const s = sandbox();
  editNpz(path.join(s.dir, 'eval.npz'), path.join(s.dir, 'nan.npz'), "z['input'][3] = np.nan");
  s.write('p.yaml', digitsPipeline('', { evalNpz: './nan.npz' }).replace('labels: labels }', 'labels: labels, allow_nonfinite: true }'));
  s.rebase();
  const r = await s.cli(['run', 'p.yaml']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const [id] = readdirSync(path.join(s.state, 'runs'));
  const report = readFileSync(path.join(s.state, 'runs', id!, 'report.md'), 'utf8');
  assert.match(report, '- evaluation: 537 samples; `input` [537,1,8,8] in [NaN, NaN]');
  assert.is(JSON.parse(readFileSync(path.join(s.state, 'runs', id!, 'run.json'), 'utf8')).status, 'ok');
  for (const args of [
    ['report', 'latest'],
    ['explain', 'latest'],
    ['compare', 'latest', 'latest'],
  ]) {
    const again = await s.cli(args);
    assert.is(again.code, 0, `${args.join(' ')}: ${again.stderr}`);
    assertNoStack(again.stderr);
  }
  assertHistoryHasFolders(s);
  s.assertUntouched();
});

test('item 6: a full disk (a 600 KiB tmpfs as the state folder): exit 5, the message, run.json kept as failed, no half-written reports', async () => {
  if (process.getuid?.() !== 0) {
    console.log('  (skipped: mounting a tmpfs needs root; scripts/fault-inject.sh covers ENOSPC too)');
    return;
  }
  const s = sandbox();
  s.write('p.yaml', digitsPipeline(''));
  mkdirSync(s.state);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', s.state]);
  try {
    s.rebase();
    const r = await s.cli(['run', 'p.yaml']);
    assert.is(r.code, 5, r.stdout + r.stderr);
    assert.ok(r.stderr.includes('trtpipe: no space left on the device (ENOSPC)'), r.stderr);
    assert.ok(
      r.stderr.includes(
        ': free some space or give another --state-dir; a run that had started keeps its run.json, which says how far it got\n',
      ),
      r.stderr,
    );
    assertNoStack(r.stderr);
    const [id] = readdirSync(path.join(s.state, 'runs'));
    assert.equal(readdirSync(path.join(s.state, 'runs', id!)), ['run.json']);
    const record = JSON.parse(readFileSync(path.join(s.state, 'runs', id!, 'run.json'), 'utf8'));
    assert.is(record.status, 'failed');
    assert.is(record.error.kind, 'storage');
    assert.ok(
      Object.values(record.stages as Record<string, { status: string }>).every((x) => x.status === 'done'),
      'every stage is recorded as done',
    );
    assertHistoryHasFolders(s);
    s.assertUntouched();
  } finally {
    execFileSync('umount', [s.state]);
  }
});

/** Runs a benchmark that would take minutes and sends SIGINT `times` once it started; returns the exit code and output. */
async function interrupted(s: Sandbox, times: number): Promise<{ code: number | null; out: string }> {
  s.write('long.yaml', digitsPipeline('').replace('iterations: 3', 'iterations: 100000000, max_seconds: 600'));
  const child = spawn(process.execPath, [CLI, 'run', 'long.yaml', '--state-dir', s.state], {
    cwd: s.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1' },
  });
  let out = '';
  let sent = false;
  const on = (t: string) => {
    out += t;
    if (sent || !/benchmark@\S+\s+started/.test(out)) return;
    sent = true;
    setTimeout(() => {
      for (let i = 0; i < times; i++) setTimeout(() => child.kill('SIGINT'), i * 20);
    }, 500);
  };
  child.stdout.setEncoding('utf8').on('data', on);
  child.stderr.setEncoding('utf8').on('data', on);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, out };
}

for (const times of [1, 2]) {
  test(`Ctrl-C ${times === 1 ? 'once' : 'twice'} mid-stage: exit 130, run.json says interrupted and how far, no history line`, async () => {
    const s = sandbox();
    const r = await interrupted(s, times);
    assert.is(r.code, 130, r.out);
    assertNoStack(r.out);
    const [id] = readdirSync(path.join(s.state, 'runs'));
    const record = JSON.parse(readFileSync(path.join(s.state, 'runs', id!, 'run.json'), 'utf8'));
    assert.is(record.status, 'interrupted');
    assert.is(record.stages['build@fp32-cpu'].status, 'done', 'the stages done before Ctrl-C are recorded');
    if (times === 2) assert.is(record.error.message, 'interrupted twice (Ctrl-C): quit without waiting for the running stages');
    assert.not.ok(existsSync(path.join(s.state, 'history.jsonl')), 'an interrupted run is not in the trends');
  });
}

test.run();
