/**
 * The precision engine end to end through the CLI: the overflow and
 * transformer examples (issue acceptance), explain, and the lockfile flow.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

async function run(pipeline: string, args: string[] = []): Promise<{ record: RunRecord; code: number | null; state: string; stdout: string; stderr: string }> {
  const state = tempDir();
  const r = await runCli(['run', pipeline, '--state-dir', state, ...args]);
  const runs = readdirSync(path.join(state, 'runs'));
  const record = JSON.parse(readFileSync(path.join(state, 'runs', runs[0]!, 'run.json'), 'utf8')) as RunRecord;
  return { record, code: r.code, state, stdout: r.stdout, stderr: r.stderr };
}

const cell = (r: RunRecord, id: string) => r.cells.find((c) => c.id === id)!;

test('overflow: blanket fp16 breaks, the default safety rules name the overflowing nodes and restore accuracy', async () => {
  const blanket = await run(path.join(ROOT, 'pipelines', 'overflow-blanket.yaml'));
  const fp16Blanket = cell(blanket.record, 'fp16-cpu').accuracy;
  assert.ok(fp16Blanket.nonfinite! > 0 || fp16Blanket.cosine! < 0.9, `blanket fp16 cosine ${fp16Blanket.cosine}`);
  const safe = await run(path.join(ROOT, 'pipelines', 'overflow.yaml'));
  assert.is(safe.code, 0, safe.stderr);
  assert.ok(cell(safe.record, 'fp16-cpu').accuracy.cosine! >= 0.999);
  const lock = safe.record.stages['transform@fp16']!.details!.lock as { node: string; resolved: string; reason: string }[];
  const kept = lock.filter((r) => r.reason === 'RANGE_OVERFLOW').map((r) => r.node);
  assert.equal(kept, ['/Mul', '/norm/ReduceMean', '/norm/Sub', '/norm/Pow', '/norm/ReduceMean_1', '/norm/Add', '/norm/Sqrt', '/norm/Div']);
  assert.ok(lock.filter((r) => r.resolved === 'fp16').length >= 5, 'the rest stays fp16');
  const explain = await runCli(['explain', '--state-dir', safe.state, 'fp16-cpu']);
  assert.is(explain.code, 0);
  assert.match(explain.stdout, /\/norm\/Pow\s+Pow\s+fp16\s+fp32\s+fp32\s+RANGE_OVERFLOW/);
  assert.match(explain.stdout, "tensor '/Mul_output_0' reaches |1190| > data_max 512");
  // Localization (evaluate.localize in overflow-blanket.yaml) points where the safety rules do:
  // the first node whose output goes wrong, and the node adding the most error, are among theirs.
  const errors = await runCli(['explain', '--errors', '--json', '--state-dir', blanket.state, 'fp16-cpu']);
  assert.is(errors.code, 0, errors.stderr);
  const [e] = JSON.parse(errors.stdout) as { firstCrossing: { node: string; nonfinite: number; added: unknown }; ranked: { node: string }[] }[];
  assert.ok(kept.includes(e!.firstCrossing.node) && e!.firstCrossing.nonfinite > 0, e!.firstCrossing.node);
  assert.is(e!.firstCrossing.added, 'inf', 'its NaN/Inf are born there');
  assert.ok(kept.includes(e!.ranked[0]!.node), e!.ranked[0]!.node);
  const none = await runCli(['explain', '--errors', '--state-dir', safe.state]);
  assert.is(none.code, 2);
  assert.match(none.stderr, 'has no per-node errors: add `evaluate: { localize: true }` to the pipeline');
});

test('transformer: the default policy keeps cosine >= 0.999; ONNX Runtime CPU runs fp16 as fp32 and explain says so', async () => {
  const r = await run(path.join(ROOT, 'pipelines', 'transformer.yaml'));
  assert.is(r.code, 0, r.stderr);
  for (const id of ['fp16-cpu', 'fp16-cpu-emulated', 'int8-cpu']) assert.ok(cell(r.record, id).accuracy.cosine! >= 0.999, id);
  const explain = await runCli(['explain', '--state-dir', r.state, 'fp16-cpu']);
  assert.match(explain.stdout, 'NO_KERNEL_ON_BACKEND');
  // Only data movement (Reshape, Transpose, ...) keeps fp16 kernels: the math runs in fp32.
  assert.match(explain.stdout, /realized\s+fp16 \d+\/67 nodes, [0-9.]+% FLOPs; fp32 \d+\/67 nodes, 9\d\.\d% FLOPs/);
});

test('lock writes the lockfile; run --frozen passes, then fails naming the nodes a policy change moves', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'digits.yaml');
  const body = (rules: string) => `version: 1
name: locked
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  calibration: { npz: ${path.join(EXAMPLES, 'digits', 'calib.npz')} }
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
precision:
  default: fp16
${rules}targets: [{ name: cpu }]
matrix: { precision: [fp16, int8] }
benchmark: { iterations: 5 }
`;
  writeFileSync(file, body(''));
  const lock = await runCli(['lock', file, '--state-dir', path.join(dir, 's')]);
  assert.is(lock.code, 0, lock.stderr);
  assert.match(lock.stdout, /fp16\s+12 nodes: 12 fp16/);
  assert.match(lock.stdout, /int8\s+12 nodes: 8 fp32, 4 int8/);
  const lockText = readFileSync(path.join(dir, 'digits.lock.json'), 'utf8');
  assert.match(lockText, '"schema": "trtpipe.lock/1"');
  const ok = await runCli(['run', file, '--frozen', '--state-dir', path.join(dir, 's')]);
  assert.is(ok.code, 0, ok.stderr);
  writeFileSync(file, body('  rules:\n    - { match: { op: [Gemm] }, use: fp32, why: test }\n'));
  const moved = await runCli(['run', file, '--frozen', '--state-dir', path.join(dir, 's')]);
  assert.is(moved.code, 2, moved.stdout + moved.stderr);
  assert.match(moved.stderr, "'/head/fc1/Gemm' fp16 (POLICY_DEFAULT) -> fp32 (POLICY_RULE)");
  assert.match(moved.stderr, 'run `trtpipe lock` and commit digits.lock.json');
});

test.run();
