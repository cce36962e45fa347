/**
 * The precision answer holds end to end through the CLI: what `trtpipe search`
 * keeps and reports is what `trtpipe lock` writes, what `trtpipe explain`
 * resolves and what the run's engine realizes and measures (ONNX Runtime,
 * emulated numerics, which reports realized precision per node). One case per
 * shipped example; runner-py/tests/search/test_chain.py covers every precision.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CellExplain } from '../../src/report/explain.js';
import type { Lockfile } from '../../src/store/lockfile.js';
import type { RunRecord } from '../../src/store/run-record.js';
import type { SearchResult } from '../../src/store/search-result.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

function pipeline(dir: string, example: string, towards: string, policy: string, budget: string): string {
  const ex = path.join(EXAMPLES, example);
  const file = path.join(dir, `${example}.yaml`);
  writeFileSync(file, `version: 1
name: ${example}-${towards}
model: { path: ${ex}/model.onnx }
data:
  calibration: { npz: ${ex}/calib.npz }
  evaluation: { npz: ${ex}/eval.npz, labels: labels }
precision:
  default: ${towards}
${policy}  search: { towards: ${towards}, budget: { ${budget} } }
calibration: { method: minmax }
targets: [{ name: cpu, numerics: emulated }]
matrix: { precision: [${towards}] }
benchmark: { iterations: 5 }
`);
  return file;
}

/** search -> lock -> run --frozen -> explain, each checked against the one before. */
async function chain(file: string, towards: string): Promise<{ search: string; result: SearchResult; record: RunRecord; state: string }> {
  const state = path.join(path.dirname(file), 'state');
  const s = await runCli(['search', file, '--state-dir', state]);
  assert.is(s.code, 0, s.stdout + s.stderr);
  const result = JSON.parse(readFileSync(file.replace(/\.yaml$/, '.search.json'), 'utf8')) as SearchResult;
  const l = await runCli(['lock', file, '--state-dir', state]);
  assert.is(l.code, 0, l.stderr);
  assert.not.match(l.stderr, 'search ', 'lock uses the committed result: no search stage');
  const lock = (JSON.parse(readFileSync(file.replace(/\.yaml$/, '.lock.json'), 'utf8')) as Lockfile).precisions[towards]!.nodes;
  assert.equal(lock.filter((r) => r.reason === 'SEARCH_FALLBACK').map((r) => r.node), result.kept, 'search == lock');
  const counts: Record<string, number> = {};
  for (const r of lock) if (r.resolved !== '-') counts[r.resolved] = (counts[r.resolved] ?? 0) + 1;
  assert.equal(Object.fromEntries(Object.entries(result.shares!).map(([p, x]) => [p, x.nodes])), counts, "the search's shares are the lockfile's");
  const r = await runCli(['run', file, '--frozen', '--state-dir', state]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const record = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  assert.not.ok('search' in record.stages, 'the committed result is used: no search stage');
  const e = await runCli(['explain', 'latest', `${towards}-cpu`, '--json', '--state-dir', state]);
  assert.is(e.code, 0, e.stderr);
  const [explained] = JSON.parse(e.stdout) as CellExplain[];
  assert.equal(explained!.rows.map((x) => [x.node, x.resolved]), lock.map((x) => [x.node, x.resolved]), "lock == explain's resolved column");
  const float = explained!.rows.filter((x) => x.resolved !== '-');
  assert.equal(float.map((x) => x.realized), float.map((x) => x.resolved), 'what the engine realized is what was resolved');
  // numerics: emulated computes in fp32 and rounds: explain says so (docs/precision.md).
  for (const x of float.filter((y) => y.realized !== 'fp32')) assert.match(x.reason, 'EMULATED', x.node);
  return { search: s.stdout, result, record, state };
}

const measured = (stdout: string) => Number(/result: cosine ([0-9.e-]+)/.exec(stdout)![1]);

test('digits towards int8: the Conv the search keeps stays fp32 in the lock, the run and its cosine', async () => {
  const dir = tempDir();
  const file = pipeline(dir, 'digits', 'int8', '', 'cosine: 0.99999');
  const { search, result, record } = await chain(file, 'int8');
  assert.ok(result.kept.length >= 1, search);
  const cosine = record.cells[0]!.accuracy.cosine!;
  assert.ok(Math.abs(cosine - measured(search)) < 1e-6, `run ${cosine} vs search ${measured(search)}`);
  assert.ok(cosine >= 0.99999);
  const text = await runCli(['explain', '--all', '--state-dir', path.join(dir, 'state')]);
  assert.match(text.stdout, /\/head\/fc1\/Gemm\s+Gemm\s+int8\s+int8\s+int8\s+POLICY_DEFAULT\+EMULATED/);
  assert.match(text.stdout, /EMULATED: \d+ node\(s\) computed in fp32 and stored rounded/);
});

test('overflow towards fp16 with the safety rules: the search reports the shares the run builds', async () => {
  const dir = tempDir();
  const { search, result } = await chain(pipeline(dir, 'overflow', 'fp16', '', 'cosine: 0.999'), 'fp16');
  assert.equal(result.kept, []);
  assert.equal(Object.fromEntries(Object.entries(result.shares!).map(([p, x]) => [p, x.nodes])), { fp16: 6, fp32: 8 });
  assert.match(search, 'the policy itself keeps 8 more node(s) out of fp16 (RANGE_OVERFLOW 8)');
  assert.match(search, 'fp16 6/14 nodes (42.9%)');
  assert.match(result.rules_yaml, 'RANGE_OVERFLOW 8');
});

test('overflow without safety rules: the search alone finds the four nodes; a changed policy makes the result stale', async () => {
  const dir = tempDir();
  const file = pipeline(dir, 'overflow', 'fp16', '  safety: { data_max: null }\n', 'cosine: 0.999');
  const { search, result, state } = await chain(file, 'fp16');
  assert.match(search, 'every candidate in fp16: cosine 0.322984: misses the budget');
  assert.equal(result.kept, ['/norm/Pow', '/norm/ReduceMean_1', '/norm/Add', '/norm/Sqrt']);
  writeFileSync(file, readFileSync(file, 'utf8').replace('safety: { data_max: null }', 'safety: { data_max: null }\n  rules: [{ match: { op: [Gemm] }, use: fp32 }]'));
  const frozen = await runCli(['run', file, '--frozen', '--state-dir', state]);
  assert.is(frozen.code, 2, frozen.stdout + frozen.stderr);
  assert.match(frozen.stderr, 'overflow.search.json no longer matches the pipeline: the precision policy changed');
  const rerun = await runCli(['lock', file, '--state-dir', state]);
  assert.is(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stderr, 'warning: ');
  assert.match(rerun.stderr, 'search ', 'a stale result is not used: the search runs again');
});

test.run();
