/**
 * Further hostile inputs (issue 13 acceptance): YAML, command lines, state folders, records read
 * back, remote runner addresses. Each asserts the exit code, the exact message and that nothing
 * outside the state folder changed. None needs a runner, so all of them together take seconds.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/paths.js';
import { assertNoStack, digitsPipeline, sandbox, type Sandbox } from '../helpers/sandbox.js';

const RUN_ID = '20261129-010000-aaaa';
/** A real run record (test/fixtures/runs) in the state folder, for commands that read runs. */
function plantRun(s: Sandbox, text?: string): string {
  const dir = path.join(s.state, 'runs', RUN_ID);
  mkdirSync(dir, { recursive: true });
  if (text === undefined) copyFileSync(path.join(ROOT, 'test', 'fixtures', 'runs', 'baseline.json'), path.join(dir, 'run.json'));
  else writeFileSync(path.join(dir, 'run.json'), text);
  return dir;
}
const fifo = (file: string) => execFileSync('mkfifo', [file]);
const KEY = 'e'.repeat(64);

interface Case {
  name: string;
  /** Makes files; returns the command line (without --state-dir, added unless `noState`). */
  setup: (s: Sandbox) => string[];
  code: number;
  /** Exact text the output (stdout + stderr) must contain. */
  message: string;
  env?: NodeJS.ProcessEnv;
  noState?: boolean;
}

const p = (s: Sandbox, text: string, name = 'p.yaml') => (s.write(name, text), name);

const cases: Case[] = [
  // Remote runners (item 11)
  {
    name: 'item 11: a token over plaintext grpc:// to another host is warned about',
    setup: (s) => [
      'run',
      p(
        s,
        digitsPipeline().replace(
          'targets: [{ name: cpu }]',
          'targets: [{ name: gpu, runner: "grpc://gpu-host.invalid:50051", token_env: TRTPIPE_TOKEN }]',
        ),
      ),
    ],
    env: { TRTPIPE_TOKEN: 'tok-123456' },
    code: 3,
    message: `trtpipe: warning: target 'gpu': the token in TRTPIPE_TOKEN goes to grpc://gpu-host.invalid:50051 over plaintext grpc://, readable by anyone on the network path; use grpcs:// (README, "Remote GPU runners")`,
  },
  {
    name: 'an unreachable remote runner still leaves a run record saying so',
    setup: (s) => [
      'run',
      p(s, digitsPipeline().replace('targets: [{ name: cpu }]', 'targets: [{ name: gpu, runner: "grpcs://gpu-host.invalid:50051" }]')),
    ],
    code: 3,
    message: "trtpipe: target 'gpu': runner gpu-host.invalid:50051 is unreachable: ",
  },
  {
    name: 'a token_env that is not set',
    setup: (s) => [
      'run',
      p(
        s,
        digitsPipeline().replace(
          'targets: [{ name: cpu }]',
          'targets: [{ name: gpu, runner: "grpcs://gpu-host.invalid:50051", token_env: TRTPIPE_NO_TOKEN }]',
        ),
      ),
    ],
    code: 3,
    message: "trtpipe: target 'gpu': environment variable TRTPIPE_NO_TOKEN (token_env) is not set",
  },
  // YAML
  {
    name: 'an alias bomb',
    setup: (s) => [
      'validate',
      p(
        s,
        [
          'a: &a [x,x,x,x,x,x,x,x,x]',
          ...'bcdef'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdef'[i]}`).join(',')}]`),
          'g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
        ].join('\n'),
      ),
    ],
    noState: true,
    code: 2,
    message: 'the document expands to more than 100000 values. Use fewer aliases (*name).',
  },
  {
    name: '5000 nested flow lists',
    setup: (s) => ['validate', p(s, `version: 1\nname: ${'['.repeat(5000)}${']'.repeat(5000)}\n`)],
    noState: true,
    code: 2,
    message: 'the document nests deeper than the YAML parser can follow. A pipeline nests a few levels deep; remove the extra [ and {.',
  },
  {
    name: 'a NUL byte in the file',
    setup: (s) => ['validate', p(s, 'version: 1\nname: a\u0000b\n')],
    noState: true,
    code: 2,
    message: "p.yaml:1:1  missing required key 'data'.",
  },
  {
    name: 'a __proto__ key',
    setup: (s) => ['validate', p(s, digitsPipeline('__proto__: { polluted: true }'))],
    noState: true,
    code: 2,
    message: "p.yaml:9:1  __proto__: unknown key '__proto__'.",
  },
  {
    name: 'a pipeline name that is a path',
    setup: (s) => ['validate', p(s, digitsPipeline('', { name: '../../sentinel' }))],
    noState: true,
    code: 2,
    message: 'p.yaml:2:7  name: ',
  },
  {
    name: 'an empty pipeline file',
    setup: (s) => ['validate', p(s, '')],
    noState: true,
    code: 2,
    message: 'p.yaml:1:1  the file is empty.',
  },
  {
    name: 'a binary file as the pipeline',
    setup: (s) => {
      copyFileSync(path.join(s.dir, 'model.onnx'), path.join(s.dir, 'model.yaml'));
      return ['validate', 'model.yaml'];
    },
    noState: true,
    code: 2,
    message: 'model.yaml',
  },
  {
    name: 'two YAML documents',
    setup: (s) => ['validate', p(s, `${digitsPipeline()}---\nversion: 1\n`)],
    noState: true,
    code: 2,
    message: 'a pipeline file holds one YAML document; this one has more.',
  },
  {
    name: 'a duplicate key',
    setup: (s) => ['validate', p(s, `${digitsPipeline()}name: again\n`)],
    noState: true,
    code: 2,
    message: 'duplicate key: each key may appear once in a mapping. Remove one of them.',
  },
  {
    name: 'an unclosed ${',
    setup: (s) => ['validate', p(s, digitsPipeline('description: "${TRTPIPE_X"'))],
    noState: true,
    code: 2,
    message: "p.yaml:9:15  description: '${TRTPIPE_X' is not closed.",
  },
  {
    name: 'nine levels of extends',
    setup: (s) => {
      for (let i = 1; i <= 9; i++) p(s, `extends: ./b${i + 1}.yaml\n`, `b${i}.yaml`);
      p(s, digitsPipeline(), 'b10.yaml');
      return ['validate', p(s, digitsPipeline('extends: ./b1.yaml'))];
    },
    noState: true,
    code: 2,
    message: 'more than 8 levels of extends',
  },
  {
    name: 'a symlink loop in a folder given to validate',
    setup: (s) => {
      mkdirSync(path.join(s.dir, 'loop'));
      symlinkSync('.', path.join(s.dir, 'loop', 'again'));
      return ['validate', 'loop'];
    },
    noState: true,
    code: 2,
    message: 'trtpipe: no pipeline files (*.yaml) found there',
  },
  // Command lines and state folders
  {
    name: '--stage-timeout -1',
    setup: (s) => ['run', p(s, digitsPipeline()), '--stage-timeout=-1'],
    code: 2,
    message: "trtpipe: --stage-timeout must be a number of seconds > 0, not '-1'",
  },
  {
    name: '--on-error sometimes',
    setup: (s) => ['run', p(s, digitsPipeline()), '--on-error', 'sometimes'],
    code: 2,
    message: "trtpipe: --on-error must be fail or keep-going, not 'sometimes'",
  },
  {
    name: 'two pipelines for run',
    setup: (s) => ['run', p(s, digitsPipeline()), 'p.yaml'],
    code: 2,
    message: 'trtpipe: usage: trtpipe run <pipeline.yaml>',
  },
  {
    name: '--state-dir naming a file',
    setup: (s) => ['run', p(s, digitsPipeline()), '--state-dir', 'p.yaml'],
    noState: true,
    code: 2,
    message: 'trtpipe: state folder p.yaml exists and is not a folder; give a folder with --state-dir (or TRTPIPE_STATE_DIR)',
  },
  {
    name: '--state-dir /dev/full',
    setup: () => ['cache', 'ls', '--state-dir', '/dev/full'],
    noState: true,
    code: 2,
    message: 'trtpipe: state folder /dev/full exists and is not a folder',
  },
  {
    name: 'TRTPIPE_STATE_DIR naming a FIFO',
    setup: (s) => {
      fifo(path.join(s.dir, 'state.fifo'));
      return ['cache', 'ls'];
    },
    env: { TRTPIPE_STATE_DIR: 'state.fifo' },
    noState: true,
    code: 2,
    message: 'trtpipe: state folder state.fifo exists and is not a folder',
  },
  {
    name: 'cache prune --older-than soon',
    setup: () => ['cache', 'prune', '--older-than', 'soon'],
    code: 2,
    message: "trtpipe: --older-than must be a number of days, not 'soon'",
  },
  {
    name: 'cache prune with nothing said',
    setup: () => ['cache', 'prune'],
    code: 2,
    message: 'trtpipe: cache prune removes entries: say which, --all (everything) or --older-than DAYS',
  },
  // Cache contents
  {
    name: 'a FIFO as a cache entry.json',
    setup: (s) => {
      mkdirSync(path.join(s.state, 'cache', KEY), { recursive: true });
      fifo(path.join(s.state, 'cache', KEY, 'entry.json'));
      return ['cache', 'verify'];
    },
    code: 1,
    message: `corrupt, removed: ${KEY.slice(0, 12)} (unreadable (is a FIFO (named pipe), not a regular file))`,
  },
  // Lockfiles and run records read back
  {
    name: '--frozen with a FIFO as the lockfile',
    setup: (s) => {
      fifo(path.join(s.dir, 'p.lock.json'));
      return ['run', p(s, digitsPipeline()), '--frozen'];
    },
    code: 2,
    message: 'p.lock.json is a FIFO (named pipe), not a regular file',
  },
  {
    name: '--frozen with a truncated lockfile',
    setup: (s) => {
      s.write('p.lock.json', '{"schema":');
      return ['run', p(s, digitsPipeline()), '--frozen'];
    },
    code: 2,
    message: 'p.lock.json: not a readable lockfile (Unexpected end of JSON input); run `trtpipe lock` again',
  },
  {
    name: '--frozen with a lockfile of another schema',
    setup: (s) => {
      s.write('p.lock.json', '{"schema":"x/9","precisions":{}}');
      return ['run', p(s, digitsPipeline()), '--frozen'];
    },
    code: 2,
    message: 'p.lock.json: not a trtpipe lockfile (schema x/9, expected trtpipe.lock/1); run `trtpipe lock` again',
  },
  {
    name: '--frozen with a lockfile that is a JSON list',
    setup: (s) => {
      s.write('p.lock.json', '[]');
      return ['run', p(s, digitsPipeline()), '--frozen'];
    },
    code: 2,
    message: 'p.lock.json: not a trtpipe lockfile (schema undefined, expected trtpipe.lock/1)',
  },
  {
    name: 'report on a run.json that is not JSON',
    setup: (s) => (plantRun(s, '{"schema": "trtpipe.run/1", '), ['report', RUN_ID]),
    code: 2,
    message: `${RUN_ID}/run.json: not a readable run record (`,
  },
  {
    name: 'report on a run.json of another schema',
    setup: (s) => (plantRun(s, '{"schema": "trtpipe.run/9"}'), ['report', RUN_ID]),
    code: 2,
    message: 'run record schema trtpipe.run/9 is not readable by this trtpipe (it reads trtpipe.run/1); upgrade trtpipe',
  },
  {
    name: 'explain on a run.json without cells',
    setup: (s) => (plantRun(s, '{"schema": "trtpipe.run/1", "id": "x"}'), ['explain', RUN_ID]),
    code: 2,
    message: 'run record is incomplete (cells, stages or id missing)',
  },
  {
    name: 'report with a path that climbs out',
    setup: (s) => (plantRun(s), ['report', '../../sentinel']),
    code: 2,
    message: "trtpipe: no run '../../sentinel' in ",
  },
  {
    name: 'report with a FIFO named like a run.json',
    setup: (s) => (plantRun(s), fifo(path.join(s.dir, 'x.json')), ['report', 'x.json']),
    code: 2,
    message: "trtpipe: no run 'x.json' in ",
  },
  {
    name: 'baseline save with a name that is a path',
    setup: (s) => (plantRun(s), ['baseline', 'save', RUN_ID, '--name', '../../sentinel/victim']),
    code: 2,
    message: "trtpipe: baseline name '../../sentinel/victim': use letters, digits, '.', '_' and '-' (at most 64)",
  },
  {
    name: 'compare with a run that does not exist',
    setup: (s) => (plantRun(s), ['compare', RUN_ID, '20990101-000000-zzzz']),
    code: 2,
    message: "trtpipe: no baseline '20990101-000000-zzzz'; save one with: trtpipe baseline save <run> --name 20990101-000000-zzzz",
  },
  {
    name: 'a history.jsonl of garbage does not stop report',
    setup: (s) => (plantRun(s), s.write('.trtpipe/history.jsonl', '{"id":\nnot json\n\u0000\n'), ['report', RUN_ID]),
    code: 0,
    message: `runs/${RUN_ID}/report.md`,
  },
];

for (const c of cases) {
  test(`${c.name}: exit ${c.code}, the exact message, nothing outside the state folder changed`, async () => {
    const s = sandbox();
    const args = c.setup(s);
    s.rebase();
    const r = await s.cli(args, { ...(c.env ? { env: c.env } : {}), stateArg: !c.noState });
    const out = r.stdout + r.stderr;
    assert.is(r.code, c.code, out);
    assert.ok(out.includes(c.message), `expected «${c.message}» in:\n${out}`);
    assertNoStack(out);
    s.assertUntouched();
  });
}

test('latest passes over a run still going (status running) to the newest finished one', async () => {
  const s = sandbox();
  plantRun(s);
  const going = path.join(s.state, 'runs', '20991231-000000-ffff');
  mkdirSync(going);
  const record = JSON.parse(readFileSync(path.join(s.state, 'runs', RUN_ID, 'run.json'), 'utf8'));
  writeFileSync(path.join(going, 'run.json'), JSON.stringify({ ...record, id: '20991231-000000-ffff', status: 'running', cells: [] }));
  s.rebase();
  const r = await s.cli(['report', 'latest']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `runs/${RUN_ID}/report.md`);
  s.assertUntouched();
});

test('an unreachable runner: run.json exists, failed, with the runner error (the record is written first)', async () => {
  const s = sandbox();
  s.write(
    'p.yaml',
    digitsPipeline().replace('targets: [{ name: cpu }]', 'targets: [{ name: gpu, runner: "grpcs://gpu-host.invalid:50051" }]'),
  );
  const r = await s.cli(['run', 'p.yaml']);
  assert.is(r.code, 3, r.stderr);
  const [id] = readdirSync(path.join(s.state, 'runs'));
  const record = JSON.parse(readFileSync(path.join(s.state, 'runs', id!, 'run.json'), 'utf8'));
  assert.is(record.status, 'failed');
  assert.is(record.error.kind, 'runner');
  assert.ok(Object.values(record.stages as Record<string, { status: string }>).every((x) => x.status === 'not-run'));
  assert.not.ok(existsSync(path.join(s.state, 'history.jsonl')), 'no history line for a run that did not finish');
});

test.run();
