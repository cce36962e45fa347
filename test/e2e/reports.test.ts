/**
 * The real CLI end to end: run (provenance, reports, history), baseline save,
 * run --baseline with a gate that must fail (exit 4), report, compare.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { RUN_FIXTURES } from '../helpers/fixtures.js';
import { EXAMPLES, ROOT, tempDir } from '../helpers/paths.js';

const state = tempDir();
const work = tempDir();

/** The quickstart pipeline, with gates and (for the second run) an extra rule that pins the Gemm nodes to fp32. */
function pipeline(file: string, extraRule: boolean): string {
  const digits = path.join(EXAMPLES, 'digits');
  writeFileSync(path.join(work, file), [
    'version: 1',
    'name: digits',
    `model: { path: ${path.join(digits, 'model.onnx')} }`,
    `data: { calibration: { npz: ${path.join(digits, 'calib.npz')} }, evaluation: { npz: ${path.join(digits, 'eval.npz')}, labels: labels } }`,
    'precision:',
    '  default: fp16',
    ...(extraRule ? ['  rules: [ { match: { op: [Gemm] }, use: fp32, why: classifier head stays exact } ]'] : []),
    'targets: [ { name: cpu, runner: local, backend: onnxruntime } ]',
    'matrix: { precision: [fp32, fp16] }',
    'benchmark: { batch: [1], warmup: 2, iterations: 20, repeats: 2 }',
    'gates: { top1: { drop_max: 0.5 }, precision_drift: { allow: false } }',
    '',
  ].join('\n'));
  return path.join(work, file);
}

const records = () => readFileSync(path.join(state, 'history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string });
const latestRun = () => JSON.parse(readFileSync(path.join(state, 'runs', records().at(-1)!.id, 'run.json'), 'utf8')) as RunRecord;

test('run: provenance per cell, report.md/html, junit.xml and one history line', async () => {
  const res = await runCli(['run', pipeline('base.yaml', false), '--state-dir', state]);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, 'gates: 2 passed, 2 skipped');
  const r = latestRun();
  const dir = path.join(state, 'runs', r.id);
  for (const f of ['run.json', 'metrics.json', 'report.md', 'report.html', 'junit.xml']) assert.ok(existsSync(path.join(dir, f)), f);
  // The pipeline lives outside any repository (a temporary folder): no commit, and no failure either.
  assert.is(r.provenance?.git, undefined);
  const p = r.cells.find((c) => c.id === 'fp16-cpu')!.provenance!;
  assert.is(p.backend.name, 'onnxruntime');
  assert.ok(p.backend.version && p.runner.version && p.trtpipe === r.trtpipe.version);
  assert.is(p.gpus, undefined);
  for (const k of ['model', 'policy', 'evaluationData', 'calibrationData', 'lockfile', 'buildSettings', 'engine'] as const) assert.match(p.hashes[k]!, /^[0-9a-f]{64}$/, k);
  assert.is(p.hashes.model, Object.values(r.inputs).find((i) => i.path.endsWith('model.onnx'))!.sha256);
  assert.equal(p.stages.map((s) => s.id).sort(), ['benchmark@fp16-cpu', 'build@fp16-cpu', 'evaluate@fp16-cpu', 'inspect', 'ranges', 'reference', 'transform@fp16'].sort());
  assert.is(p.cache.stages, 7);
  const bench = r.stages['benchmark@fp16-cpu']!.details!.batches as Record<string, { repeat_p50_ms: number[] }>;
  assert.is(bench['1']!.repeat_p50_ms.length, 2);
  const junit = readFileSync(path.join(dir, 'junit.xml'), 'utf8');
  // 2 cells, 4 gate checks, and the latency case: every timing loop had its device to itself.
  assert.match(junit, '<testsuites name="trtpipe digits" tests="7" failures="0"');
  assert.match(junit, '<testcase classname="digits.latency" name="timing loops had their device to themselves"');
  assert.is(records().length, 1);
});

test('a pipeline inside a git repository records its commit', async () => {
  const { addProvenance } = await import('../../src/store/provenance.js');
  const r = JSON.parse(readFileSync(path.join(RUN_FIXTURES, 'baseline.json'), 'utf8')) as RunRecord;
  const { loadPipeline } = await import('../../src/config/load.js');
  const { pipeline: p } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  await addProvenance(r, p!, ROOT);
  assert.is(r.provenance!.git!.commit, execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim());
  assert.is(r.cells[0]!.provenance!.git!.commit, r.provenance!.git!.commit);
});

test('run --baseline: a node pinned wider fails precision_drift, exit 4, named in output and junit', async () => {
  const saved = await runCli(['baseline', 'save', 'latest', '--name', 'main', '--state-dir', state]);
  assert.is(saved.code, 0, saved.stderr);
  assert.match(saved.stdout, /baseline main: run \S+ \(digits, 2 cells\)/);
  const res = await runCli(['run', pipeline('pinned.yaml', true), '--state-dir', state, '--baseline', 'main']);
  assert.is(res.code, 4, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, 'gates against baseline main: 1 FAILED');
  assert.match(res.stdout, 'FAIL precision_drift digits@fp16-cpu: 2 node(s) got wider: /head/fc1/Gemm fp16->fp32 (POLICY_RULE), /head/fc2/Gemm fp16->fp32 (POLICY_RULE)');
  const r = latestRun();
  assert.is(r.comparison!.baseline.name, 'main');
  assert.is(r.gates!.failed, 1);
  const dir = path.join(state, 'runs', r.id);
  assert.match(readFileSync(path.join(dir, 'junit.xml'), 'utf8'), '<failure type="precision_drift"');
  assert.match(readFileSync(path.join(dir, 'report.md'), 'utf8'), '## Precision changes vs baseline');
  assert.is(records().length, 2);
});

test('report re-renders from run.json; compare prints deltas and with --gates exits 4', async () => {
  const r = latestRun();
  const html = path.join(state, 'runs', r.id, 'report.html');
  const before = readFileSync(html, 'utf8');
  rmSync(html);
  const res = await runCli(['report', r.id, '--state-dir', state]);
  assert.is(res.code, 0, res.stderr);
  assert.is(readFileSync(html, 'utf8'), before);
  const cmp = await runCli(['compare', 'main', 'latest', '--state-dir', state]);
  assert.is(cmp.code, 0, cmp.stderr);
  assert.match(cmp.stdout, /digits@fp16-cpu\s+[+-]\d+\.\d% ±\d+\.\d%/);
  assert.match(cmp.stdout, '2 wider');
  assert.match(cmp.stdout, 'digits@fp16-cpu: /head/fc1/Gemm (Gemm) resolved fp16 -> fp32 [POLICY_RULE]');
  const gated = await runCli(['compare', 'main', 'latest', '--gates', '--state-dir', state]);
  assert.is(gated.code, 4, gated.stdout);
});

test('compare on recorded runs: the 10% regression fails its gate', async () => {
  const res = await runCli(['compare', path.join(RUN_FIXTURES, 'baseline.json'), path.join(RUN_FIXTURES, 'regressed.json'), '--gates', '--state-dir', tempDir()]);
  assert.is(res.code, 4, res.stdout + res.stderr);
  assert.match(res.stdout, 'FAIL latency_p50 digits@fp16-cpu');
  const noisy = await runCli(['compare', path.join(RUN_FIXTURES, 'baseline.json'), path.join(RUN_FIXTURES, 'noisy.json'), '--gates', '--state-dir', tempDir()]);
  assert.is(noisy.code, 0, noisy.stdout + noisy.stderr);
});

test('an unknown baseline stops before anything runs, with exit 2 and a hint', async () => {
  const res = await runCli(['run', path.join(work, 'base.yaml'), '--state-dir', state, '--baseline', 'mian']);
  assert.is(res.code, 2);
  assert.match(res.stderr, "trtpipe: no baseline 'mian'; did you mean 'main'?");
  assert.not.match(res.stdout, 'cell(s)');
});

test('a baseline of another pipeline is refused before anything runs', async () => {
  const other = { ...latestRun(), pipeline: { name: 'other', file: 'x.yaml', sha256: '0' } };
  mkdirSync(path.join(state, 'baselines'), { recursive: true });
  writeFileSync(path.join(state, 'baselines', 'other.json'), JSON.stringify(other));
  const res = await runCli(['run', path.join(work, 'base.yaml'), '--state-dir', state, '--baseline', 'other']);
  assert.is(res.code, 2);
  assert.match(res.stderr, "baseline 'other' is a run of pipeline 'other', not 'digits'");
});

test.run();
