/** examples/ci/nightly.sh as the workflow runs it: first night saves the baseline, the next compares with it. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { ROOT, tempDir } from '../helpers/paths.js';

const state = tempDir();
const reports = path.join(tempDir(), 'reports');

function night(extra: Record<string, string> = {}) {
  const res = spawnSync('bash', [path.join(ROOT, 'examples', 'ci', 'nightly.sh'), 'pipelines/quickstart.yaml'], {
    env: { ...process.env, CI: '1', TRTPIPE_STATE_DIR: state, TRTPIPE_REPORTS: reports, ...extra },
    encoding: 'utf8',
  });
  return { code: res.status, out: `${res.stdout}\n${res.stderr}` };
}

test('the first night bootstraps the baseline and copies the reports', () => {
  const { code, out } = night();
  assert.is(code, 0, out);
  assert.ok(existsSync(path.join(state, 'baselines', 'nightly-quickstart.json')), out);
  for (const f of ['report.md', 'report.html', 'junit.xml', 'run.json']) assert.ok(existsSync(path.join(reports, 'quickstart', f)), f);
  assert.match(readFileSync(path.join(reports, 'summary.md'), 'utf8'), '# trtpipe: digits');
});

test('the next night runs against it, and keeps it', () => {
  const before = readFileSync(path.join(state, 'baselines', 'nightly-quickstart.json'), 'utf8');
  const { code, out } = night();
  assert.is(code, 0, out);
  const record = JSON.parse(readFileSync(path.join(reports, 'quickstart', 'run.json'), 'utf8')) as RunRecord;
  assert.is(record.comparison?.baseline.name, 'nightly-quickstart');
  assert.is(readFileSync(path.join(state, 'baselines', 'nightly-quickstart.json'), 'utf8'), before);
  assert.is(readFileSync(path.join(state, 'history.jsonl'), 'utf8').trim().split('\n').length, 2);
});

test('TRTPIPE_PROMOTE=1 makes the run of the night the new baseline', () => {
  const { code, out } = night({ TRTPIPE_PROMOTE: '1' });
  assert.is(code, 0, out);
  const baseline = JSON.parse(readFileSync(path.join(state, 'baselines', 'nightly-quickstart.json'), 'utf8')) as RunRecord;
  const tonight = JSON.parse(readFileSync(path.join(reports, 'quickstart', 'run.json'), 'utf8')) as RunRecord;
  assert.is(baseline.id, tonight.id);
});

test.run();
