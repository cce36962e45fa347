/**
 * Data that runs but cannot be measured (issue 13 item 10 and the exit-code table): labels outside
 * the model's classes are an error naming the sample and the value; bad evaluation data and bad
 * calibration data both end with exit 2, as the README promises; the run record says so.
 */
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editNpz } from '../helpers/npz.js';
import { EXAMPLES } from '../helpers/paths.js';
import { assertNoStack, digitsPipeline, sandbox, type Sandbox } from '../helpers/sandbox.js';

function record(s: Sandbox): { status: string; stages: Record<string, { status: string; error?: { code: string } }> } {
  const [id] = readdirSync(path.join(s.state, 'runs'));
  return JSON.parse(readFileSync(path.join(s.state, 'runs', id!, 'run.json'), 'utf8'));
}

const cases: [string, (s: Sandbox) => string, string][] = [
  [
    "item 10: labels outside the model's classes",
    (s) => {
      editNpz(path.join(s.dir, 'eval.npz'), path.join(s.dir, 'badlabels.npz'), "z['labels'][412] = 10\nz['labels'][500] = -1");
      return digitsPipeline('', { evalNpz: './badlabels.npz' });
    },
    "trtpipe: cell hostile@fp32-cpu: stage inspect failed: the evaluation labels are not class indices of output 'probs' [\"batch\",10]: sample 412 has label 10, outside the model's 10 classes (0..9); 2 of 537 labels are out of range (evaluation data badlabels.npz)\n",
  ],
  [
    'evaluation data of the wrong shape',
    (s) => {
      copyFileSync(path.join(EXAMPLES, 'transformer', 'eval.npz'), path.join(s.dir, 'wrong.npz'));
      return digitsPipeline('', { evalNpz: './wrong.npz' });
    },
    "input 'input' has shape [537, 8, 8], the model expects rank 4",
  ],
  [
    'calibration data of the wrong shape',
    (s) => {
      editNpz(path.join(s.dir, 'calib.npz'), path.join(s.dir, 'cwrong.npz'), "z['input'] = z['input'][:, 0]");
      return digitsPipeline('', { calibNpz: './cwrong.npz', precision: 'int8' });
    },
    'the model expects rank 4',
  ],
];

for (const [name, setup, message] of cases) {
  test(`${name}: exit 2, the exact message, run.json failed, nothing outside the state folder changed`, async () => {
    const s = sandbox();
    s.write('p.yaml', setup(s));
    s.rebase();
    const r = await s.cli(['run', 'p.yaml']);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(message), `expected «${message}» in:\n${r.stderr}`);
    assertNoStack(r.stderr);
    assert.is(record(s).status, 'failed');
    s.assertUntouched();
  });
}

test.run();
