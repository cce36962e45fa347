/** The real CLI on the quickstart pipeline, against a real spawned runner. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/paths.js';

test('quickstart: fp32 and fp16 on ONNX Runtime, report with accuracy and latency', async () => {
  const state = tempDir();
  const res = await runCli(['run', path.join(ROOT, 'pipelines', 'quickstart.yaml'), '--state-dir', state]);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, 'digits@fp16-cpu');
  const runs = readdirSync(path.join(state, 'runs'));
  assert.is(runs.length, 1);
  const dir = path.join(state, 'runs', runs[0]!);
  assert.equal(readdirSync(dir).sort(), ['junit.xml', 'metrics.json', 'report.html', 'report.md', 'run.json']);
  const record = JSON.parse(readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunRecord;
  assert.is(record.schema, 'trtpipe.run/1');
  assert.is(record.status, 'ok');
  const cell = (id: string) => record.cells.find((c) => c.id === id)!;
  const fp32 = cell('fp32-cpu').accuracy;
  const fp16 = cell('fp16-cpu').accuracy;
  assert.ok(fp32.top1! > 0.9, `fp32 top-1 ${fp32.top1}`);
  assert.ok(Math.abs(fp16.top1! - fp32.top1!) <= 0.01, `fp16 top-1 ${fp16.top1} vs fp32 ${fp32.top1}`);
  assert.ok(fp16.cosine! > 0.999, `fp16 cosine ${fp16.cosine}`);
  for (const c of record.cells) {
    for (const b of ['1', '32']) assert.ok(c.latency[b]!.latency_p50_ms! > 0 && c.latency[b]!.latency_p99_ms! >= c.latency[b]!.latency_p50_ms!);
  }
  assert.ok(Object.values(record.inputs).every((i) => /^[0-9a-f]{64}$/.test(i.sha256)));
  assert.ok(record.runners.cpu!.versions.onnxruntime);
  const report = readFileSync(path.join(dir, 'report.md'), 'utf8');
  assert.match(report, '| digits@fp16-cpu | fp16 | cpu |');
  assert.match(report, /\| digits@fp32-cpu \| fp32 \| cpu \| 9\d\.\d\d% \|/);
  const metrics = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(Object.keys(metrics), ['digits@fp32-cpu', 'digits@fp16-cpu']);
  // `trtpipe plan` computes, without a runner, the keys the run recorded (identity from this run's record).
  const plan = await runCli(['plan', path.join(ROOT, 'pipelines', 'quickstart.yaml'), '--state-dir', state, '--json']);
  assert.is(plan.code, 0, plan.stderr);
  const planned = JSON.parse(plan.stdout) as { stages: { id: string; key?: string }[] };
  assert.equal(Object.fromEntries(planned.stages.map((s) => [s.id, s.key])), Object.fromEntries(Object.entries(record.stages).map(([id, s]) => [id, s.key])));
});

test.run();
