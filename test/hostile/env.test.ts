/**
 * `${VAR}` and the environment (issue 13 item 4): only TRTPIPE_* variables are read, a value is
 * never echoed in a diagnostic, and a value read is masked in run.json, the reports, history and
 * the terminal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNoStack, digitsPipeline, sandbox } from '../helpers/sandbox.js';

const SECRET = 'hunter2-s3cr3t-value';

const refused: [string, string, string][] = [
  [
    'item 4: why: "${SECRET}" (any variable)',
    'precision: { rules: [{ match: { op: [Softmax] }, use: fp32, why: "${SECRET}" }] }',
    "p.yaml:9:67  precision.rules[0].why: '${SECRET}': only environment variables whose names start with TRTPIPE_ are read.",
  ],
  [
    'item 4: name: "${SECRET}" echoed by validate',
    '',
    "p.yaml:2:8  name: '${SECRET}': only environment variables whose names start with TRTPIPE_ are read.",
  ],
  [
    '${HOME} in a model path',
    '',
    "p.yaml:3:17  model.path: '${HOME}': only environment variables whose names start with TRTPIPE_ are read.",
  ],
  [
    '${GITHUB_TOKEN:-x} with a default',
    'description: "${GITHUB_TOKEN:-x}"',
    "p.yaml:9:15  description: '${GITHUB_TOKEN:-x}': only environment variables whose names start with TRTPIPE_ are read.",
  ],
  ['${TRTPIPE_UNSET} unset', 'description: "${TRTPIPE_UNSET}"', 'p.yaml:9:15  description: environment variable TRTPIPE_UNSET is not set.'],
];

for (const [name, extra, message] of refused) {
  test(`${name}: exit 2, the variable named, its value never printed`, async () => {
    const s = sandbox();
    let text = digitsPipeline(extra);
    if (name.includes('name:')) text = text.replace('name: hostile', 'name: "${SECRET}"');
    if (name.includes('HOME')) text = text.replace('./model.onnx', '"${HOME}/m.onnx"');
    s.write('p.yaml', text);
    s.rebase();
    for (const args of [
      ['validate', 'p.yaml'],
      ['run', 'p.yaml', '--state-dir', s.state],
    ]) {
      const r = await s.cli(args, { env: { SECRET, GITHUB_TOKEN: SECRET, HOME: `/home/${SECRET}` }, stateArg: false });
      assert.is(r.code, 2, r.stdout + r.stderr);
      assert.ok((r.stdout + r.stderr).includes(message), `expected «${message}» in:\n${r.stdout}${r.stderr}`);
      assert.not.match(r.stdout + r.stderr, SECRET);
      assertNoStack(r.stderr);
    }
    s.assertUntouched();
  });
}

test('item 4: a TRTPIPE_ value is masked as ${NAME} in run.json, metrics, reports, history and the terminal', async () => {
  const s = sandbox();
  s.write(
    'p.yaml',
    digitsPipeline(
      'description: "token ${TRTPIPE_SECRET} here"\nprecision: { rules: [{ match: { op: [Softmax] }, use: fp32, why: "${TRTPIPE_SECRET}" }] }',
    ),
  );
  s.rebase();
  const r = await s.cli(['run', 'p.yaml'], { env: { TRTPIPE_SECRET: SECRET } });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.not.match(r.stdout + r.stderr, SECRET);
  const [id] = readdirSync(path.join(s.state, 'runs'));
  const dir = path.join(s.state, 'runs', id!);
  for (const f of readdirSync(dir)) assert.not.match(readFileSync(path.join(dir, f), 'utf8'), SECRET, `${f} holds the value`);
  assert.not.match(readFileSync(path.join(s.state, 'history.jsonl'), 'utf8'), SECRET);
  assert.match(readFileSync(path.join(dir, 'run.json'), 'utf8'), '${TRTPIPE_SECRET}');
  const explain = await s.cli(['explain', 'latest', '--all'], { env: { TRTPIPE_SECRET: SECRET } });
  assert.is(explain.code, 0, explain.stderr);
  assert.not.match(explain.stdout, SECRET);
  s.assertUntouched();
});

test.run();
