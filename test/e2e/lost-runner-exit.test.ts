/**
 * A runner lost while `trtpipe search` (or `lock`) runs a stage ends the command with exit code
 * 3, as it ends `trtpipe run`: one exit-code function for every command that runs stages (it
 * used to exit 1 there).
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

test('killing the runner during a search exits 3, naming the stage', async () => {
  const dir = tempDir();
  const state = path.join(dir, 'state');
  const ex = path.join(EXAMPLES, 'transformer');
  writeFileSync(
    path.join(dir, 'long-search.yaml'),
    `version: 1
name: long-search
model: { path: ${ex}/model.onnx }
data:
  evaluation: { npz: ${ex}/eval.npz, labels: labels }
precision:
  default: fp16
  search: { towards: fp16, budget: { cosine: 0.99999999 }, max_evaluations: 500 }
targets: [{ name: cpu, numerics: emulated }]
matrix: { precision: [fp16] }
`,
  );
  let killed = false;
  const r = await runCli(['search', 'long-search.yaml', '--state-dir', state], {
    cwd: dir,
    onStderr: (text) => {
      if (!killed && /search\s+started/.test(text)) {
        killed = true;
        // The runner is the only process whose command line names this state folder.
        execSync(`pkill -9 -f "[t]rtpipe_runner serve .*${state}/runner-store"`);
      }
    },
  });
  assert.ok(killed, `the search never started: ${r.stderr}`);
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /search failed/);
});

test.run();
