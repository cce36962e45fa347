/** The runner process dies mid-stage: the CLI names the cell and stage, exits non-zero, writes a whole record. */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

test('killing the runner during a benchmark fails that cell clearly', async () => {
  const dir = tempDir();
  const state = path.join(dir, 'state');
  writeFileSync(path.join(dir, 'long.yaml'), `version: 1
name: long
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
targets: [{ name: cpu }]
benchmark: { batch: [1], warmup: 0, iterations: 100000000, max_seconds: 600 }
`);
  let killed = false;
  const r = await runCli(['run', 'long.yaml', '--state-dir', state], {
    cwd: dir,
    onStdout: (text) => {
      if (!killed && text.includes('benchmark@fp32-cpu') && text.includes('started')) {
        killed = true;
        // The runner is the only process whose command line names this state folder.
        execSync(`pkill -9 -f "[t]rtpipe_runner serve .*${state}/runner-store"`);
      }
    },
  });
  assert.ok(killed, 'the benchmark never started');
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /cell long@fp32-cpu: stage benchmark@fp32-cpu failed/);
  assert.match(r.stderr, /local runner .*(died|exited)/);
  const runs = readdirSync(path.join(state, 'runs'));
  assert.is(runs.length, 1);
  const record = JSON.parse(readFileSync(path.join(state, 'runs', runs[0]!, 'run.json'), 'utf8')) as RunRecord;
  assert.is(record.status, 'failed');
  assert.is(record.stages['benchmark@fp32-cpu']!.status, 'failed');
  assert.is(record.stages['evaluate@fp32-cpu']!.status, 'done');
});

test.run();
