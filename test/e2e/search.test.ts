/** `trtpipe search` writes a committable result; `trtpipe run` then uses it without searching. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

test('search, commit, run: kept nodes reach the lockfile as SEARCH_FALLBACK', async () => {
  const dir = tempDir();
  const ex = path.join(EXAMPLES, 'overflow');
  const file = path.join(dir, 'ovf.yaml');
  writeFileSync(file, `version: 1
name: ovf
model: { path: ${ex}/model.onnx }
data:
  calibration: { npz: ${ex}/calib.npz }
  evaluation: { npz: ${ex}/eval.npz, labels: labels }
precision:
  default: fp16
  search: { towards: fp16, budget: { cosine: 0.999 } }
targets: [{ name: cpu, numerics: emulated }]
matrix: { precision: [fp16] }
benchmark: { iterations: 5 }
`);
  const state = path.join(dir, 'state');
  const s = await runCli(['search', file, '--state-dir', state]);
  assert.is(s.code, 0, s.stdout + s.stderr);
  assert.match(s.stdout, 'everything fp16: cosine 0.322984: misses the budget');
  assert.match(s.stdout, /kept in fp32: 4 of \d+ candidate nodes/);
  assert.match(s.stdout, '        - "/norm/Pow"');
  const result = JSON.parse(readFileSync(path.join(dir, 'ovf.search.json'), 'utf8')) as { schema: string; kept: string[] };
  assert.is(result.schema, 'trtpipe.search/1');
  assert.equal(result.kept, ['/norm/Pow', '/norm/ReduceMean_1', '/norm/Add', '/norm/Sqrt']);
  const r = await runCli(['run', file, '--state-dir', state]);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const rec = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  assert.not.ok('search' in rec.stages, 'the committed result is used: no search stage');
  const lock = rec.stages['transform@fp16']!.details!.lock as { node: string; reason: string }[];
  assert.equal(lock.filter((x) => x.reason === 'SEARCH_FALLBACK').map((x) => x.node), result.kept);
  assert.ok(rec.cells[0]!.accuracy.cosine! >= 0.999);
});

test.run();
