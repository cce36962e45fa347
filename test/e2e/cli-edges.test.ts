/**
 * Command-line edges: help and unknown options are user errors, `--on-error
 * fail` starts nothing queued after a failure, a missing bf16 kernel names the
 * fix, explain resolves runs as report does, cache prune asks before emptying.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

const dir = tempDir();
const state = path.join(dir, 'state');
const digits = path.join(EXAMPLES, 'digits');

test('--help of any command prints the help; unknown options are user errors (exit 2), never internal ones', async () => {
  for (const args of [['explain', '--help'], ['lock', '--help'], ['search', '-h'], ['cache', 'prune', '--help']]) {
    const r = await runCli(args);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, 'Usage: trtpipe <command> [options]');
  }
  for (const args of [['explain', '--bogus'], ['lock', 'x.yaml', '--bogus'], ['search', 'x.yaml', '--bogus'], ['cache', 'prune', '--bogus']]) {
    const r = await runCli([...args, '--state-dir', state]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, "Unknown option '--bogus'");
    assert.not.match(r.stderr, 'internal error');
  }
  const help = (await runCli(['--help'])).stdout;
  assert.is(help.split('--on-error').length - 1, 1, '--on-error is listed once');
});

test('--on-error fail: stages queued when a build fails do not start; the failure names numerics: emulated', async () => {
  const file = path.join(dir, 'onerr.yaml');
  writeFileSync(file, `version: 1
name: onerr
model: { path: ${digits}/model.onnx }
data:
  evaluation: { npz: ${digits}/eval.npz, labels: labels }
precision: { default: fp16, opset: 22 }
targets: [{ name: cpu }]
matrix: { precision: [bf16, fp32, fp16] }
benchmark: { iterations: 5 }
`);
  const v = await runCli(['validate', file]);
  assert.is(v.code, 0);
  assert.match(v.stdout, "bf16 cells on target 'cpu' will fail to build");
  const r = await runCli(['run', file, '--state-dir', state]);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, "stage build@bf16-cpu failed at node '/features/conv1/Conv'");
  assert.match(r.stderr, 'set `numerics: emulated` on the target');
  assert.match(r.stderr, '`{ match: { op: [Conv] }, use: fp32 }`');
  const runs = readdirSync(path.join(state, 'runs'));
  const record = JSON.parse(readFileSync(path.join(state, 'runs', runs[0]!, 'run.json'), 'utf8')) as RunRecord;
  // Both builds were waiting for the runner when the bf16 build failed.
  for (const id of ['build@fp32-cpu', 'build@fp16-cpu']) {
    assert.is(record.stages[id]!.status, 'skipped', id);
    assert.is(record.stages[id]!.reason, 'an earlier stage failed');
  }
  const md = readFileSync(path.join(state, 'runs', runs[0]!, 'report.md'), 'utf8');
  assert.match(md, /\| onerr@bf16-cpu \(failed\) \|[^\n]*\| – \|\n/, 'a failed cell shows no low-precision count');
});

test('runners tells native, computed-wider and emulated precisions apart', async () => {
  const r = await runCli(['runners', path.join(dir, 'onerr.yaml'), '--state-dir', state]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /onnxruntime\s+\S+\s+native: fp32; computed in fp32: fp16 int8 fp8; with numerics: emulated: fp16 bf16 int8 fp8/);
});

test('explain takes latest and a run-id prefix, like report', async () => {
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  for (const ref of ['latest', id.slice(0, 10)]) {
    const r = await runCli(['explain', ref, 'bf16-cpu', '--state-dir', state]);
    assert.is(r.code, 0, `${ref}: ${r.stderr}`);
    assert.match(r.stdout, 'onerr@bf16-cpu');
  }
  const missing = await runCli(['explain', 'nosuchrun', '--state-dir', state]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, "no run 'nosuchrun'");
});

test('cache prune without arguments asks for --all or an age and deletes nothing', async () => {
  const cache = path.join(state, 'cache');
  const entries = () => readdirSync(cache).filter((e) => /^[0-9a-f]{64}$/.test(e) && existsSync(path.join(cache, e, 'entry.json')));
  const before = entries();
  assert.ok(before.length > 0);
  const r = await runCli(['cache', 'prune', '--state-dir', state]);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--all (everything) or --older-than DAYS');
  assert.equal(entries(), before);
  const all = await runCli(['cache', 'prune', '--all', '--state-dir', state]);
  assert.is(all.code, 0, all.stderr);
  assert.match(all.stdout, `removed ${before.length} entries`);
  assert.equal(entries(), []);
});

test.run();
