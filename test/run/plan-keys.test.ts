/**
 * `trtpipe plan` computes the keys a run computes, by the same path (run/keyed-graph.ts): after a
 * run, plan shows every stage cached under the run's key, also for synthetic evaluation data and
 * a data folder (plan used to call those stages not cacheable, having no hash for them).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

test("plan's keys are the run's keys, synthetic data and data folders included", async () => {
  const dir = tempDir();
  const state = path.join(dir, 'state');
  const digits = path.join(EXAMPLES, 'digits');
  mkdirSync(path.join(dir, 'calib'));
  copyFileSync(path.join(digits, 'calib.npz'), path.join(dir, 'calib', 'part-0.npz'));
  const file = path.join(dir, 'keys.yaml');
  writeFileSync(
    file,
    `version: 1
name: keys
model: { path: ${digits}/model.onnx }
data:
  calibration: { dir: calib, samples: 64 }
  evaluation: { synthetic: { samples: 16 } }
targets: [{ name: cpu }]
matrix: { precision: [fp16] }
benchmark: { iterations: 5, warmup: 1 }
`,
  );
  const run = await runCli(['run', file, '--state-dir', state], { cwd: dir });
  assert.is(run.code, 0, run.stdout + run.stderr);
  const [id] = readdirSync(path.join(state, 'runs'));
  const record = JSON.parse(readFileSync(path.join(state, 'runs', id!, 'run.json'), 'utf8')) as RunRecord;
  const plan = await runCli(['plan', file, '--state-dir', state, '--json'], { cwd: dir });
  assert.is(plan.code, 0, plan.stderr);
  const stages = (JSON.parse(plan.stdout) as { stages: { id: string; status: string; key?: string }[] }).stages;
  assert.equal(stages.map((s) => s.id).sort(), Object.keys(record.stages).sort());
  for (const s of stages) {
    assert.is(s.status, 'cached', `${s.id}: ${JSON.stringify(s)}`);
    assert.is(s.key, record.stages[s.id]!.key, s.id);
  }
});

test.run();
