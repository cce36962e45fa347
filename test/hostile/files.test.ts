/**
 * Hostile files (issue 13 items 3 and 8): every path the user gives is a regular file (a folder
 * where one is expected) under a documented size limit, checked before a byte is read, so a FIFO
 * or a device never hangs trtpipe and a huge YAML file never exhausts its memory. Each case
 * asserts the exact message, exit 2, and that nothing outside the state folder changed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNoStack, digitsPipeline, sandbox, type Sandbox } from '../helpers/sandbox.js';

const fifo = (s: Sandbox, name: string) => {
  execFileSync('mkfifo', [path.join(s.dir, name)]);
  return name;
};
/** A file of `bytes` (sparse: nothing is written). */
const big = (s: Sandbox, name: string, bytes: number, head = 'version: 1\n') => {
  writeFileSync(path.join(s.dir, name), head);
  truncateSync(path.join(s.dir, name), bytes);
  return name;
};

interface Case {
  name: string;
  /** Makes the files; returns the pipeline file to run. */
  setup: (s: Sandbox) => string;
  /** The exact text stderr must contain. */
  message: string;
}

const MiB = 1 << 20;
const cases: Case[] = [
  {
    name: 'item 3: a FIFO as model.path',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { model: `./${fifo(s, 'm.onnx')}` })) && 'p.yaml',
    message: 'p.yaml:3:16  model.path: is a FIFO (named pipe), not a regular file: m.onnx',
  },
  {
    name: 'item 3: a FIFO as evaluation npz',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { evalNpz: `./${fifo(s, 'e.npz')}` })) && 'p.yaml',
    message: 'p.yaml:5:22  data.evaluation.npz: is a FIFO (named pipe), not a regular file: e.npz',
  },
  {
    name: 'item 3: a FIFO as calibration npz',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { calibNpz: `./${fifo(s, 'c.npz')}` })) && 'p.yaml',
    message: 'p.yaml:5:23  data.calibration.npz: is a FIFO (named pipe), not a regular file: c.npz',
  },
  {
    name: 'item 3: a FIFO as extends',
    setup: (s) => s.write('p.yaml', digitsPipeline(`extends: ./${fifo(s, 'base.yaml')}`)) && 'p.yaml',
    message: 'p.yaml:9:10  extends: base file base.yaml is a FIFO (named pipe), not a regular file. The path is relative to this file',
  },
  {
    name: 'item 3: a FIFO as the pipeline file',
    setup: (s) => fifo(s, 'p.yaml'),
    message: 'trtpipe: pipeline file p.yaml is a FIFO (named pipe), not a regular file',
  },
  {
    name: 'item 3: /dev/zero as model.path',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { model: '/dev/zero' })) && 'p.yaml',
    message: 'p.yaml:3:16  model.path: is a device, not a regular file: /dev/zero',
  },
  {
    name: 'item 3: /dev/zero as extends',
    setup: (s) => s.write('p.yaml', digitsPipeline('extends: /dev/zero')) && 'p.yaml',
    message: 'p.yaml:9:10  extends: base file /dev/zero is a device, not a regular file',
  },
  {
    name: '/dev/urandom as evaluation npz',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { evalNpz: '/dev/urandom' })) && 'p.yaml',
    message: 'data.evaluation.npz: is a device, not a regular file: /dev/urandom',
  },
  {
    name: '/dev/zero as the pipeline file',
    setup: () => '/dev/zero',
    message: 'trtpipe: pipeline file /dev/zero is a device, not a regular file',
  },
  {
    name: '/dev/full as the pipeline file',
    setup: () => '/dev/full',
    message: 'trtpipe: pipeline file /dev/full is a device, not a regular file',
  },
  {
    name: 'a symlink to a FIFO as model.path',
    setup: (s) => {
      symlinkSync(path.join(s.dir, fifo(s, 'f')), path.join(s.dir, 'link.onnx'));
      return s.write('p.yaml', digitsPipeline('', { model: './link.onnx' })) && 'p.yaml';
    },
    message: 'model.path: is a FIFO (named pipe), not a regular file: link.onnx',
  },
  {
    name: 'a socket-like /proc entry as model (a folder)',
    setup: (s) => s.write('p.yaml', digitsPipeline('', { model: '/proc/self' })) && 'p.yaml',
    message: 'model.path: is a folder, not a file: /proc/self',
  },
  {
    name: 'item 8: a 2 MiB pipeline file',
    setup: (s) => big(s, 'p.yaml', 2 * MiB),
    message: `trtpipe: pipeline file p.yaml is ${2 * MiB} bytes, over the limit of 1 MiB`,
  },
  {
    name: 'item 8: a pipeline extending a 3 MiB base',
    setup: (s) => {
      big(s, 'b.yaml', 3 * MiB);
      return s.write('p.yaml', digitsPipeline('extends: ./b.yaml')) && 'p.yaml';
    },
    message: `p.yaml:9:10  extends: base file b.yaml is ${3 * MiB} bytes, over the limit of 1 MiB`,
  },
  {
    name: 'a pipeline of exactly 1 MiB + 1 byte of comments',
    setup: (s) => big(s, 'p.yaml', MiB + 1, '# x\n'),
    message: `pipeline file p.yaml is ${MiB + 1} bytes, over the limit of 1 MiB`,
  },
  {
    name: 'extends naming a folder',
    setup: (s) => {
      mkdirSync(path.join(s.dir, 'bases'));
      return s.write('p.yaml', digitsPipeline('extends: ./bases')) && 'p.yaml';
    },
    message: 'p.yaml:9:10  extends: bases is a folder. Name a pipeline .yaml file',
  },
  {
    name: 'extends naming itself',
    setup: (s) => s.write('p.yaml', digitsPipeline('extends: ./p.yaml')) && 'p.yaml',
    message: 'p.yaml:9:10  extends: extends form a cycle: p.yaml -> p.yaml',
  },
];

for (const c of cases) {
  test(`${c.name}: exit 2, the exact message, no hang, nothing outside the state folder changed`, async () => {
    const s = sandbox();
    const file = c.setup(s);
    s.rebase();
    const r = await s.cli(['run', file]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(c.message), `expected «${c.message}» in:\n${r.stderr}`);
    assertNoStack(r.stderr);
    assert.not.ok(existsSync(path.join(s.state, 'runs')), 'no run folder for input refused at validation');
    s.assertUntouched();
  });
}

test('validate: a folder of pipelines holding a FIFO and a 2 MiB file: the FIFO is skipped unread, the big file refused', async () => {
  const s = sandbox();
  mkdirSync(path.join(s.dir, 'pipes'));
  fifo(s, 'pipes/a.yaml');
  big(s, 'pipes/b.yaml', 2 * MiB);
  s.rebase();
  const r = await s.cli(['validate', 'pipes'], { stateArg: false });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.not.match(r.stdout, 'pipes/a.yaml', 'a FIFO in a folder is not a pipeline file: skipped, never opened');
  assert.match(r.stdout, `pipes/b.yaml  pipeline file pipes/b.yaml is ${2 * MiB} bytes, over the limit of 1 MiB`);
  s.assertUntouched();
});

test.run();
