/** Baselines, run references and history on disk. */
import { mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError } from '../../src/errors.js';
import { historyEntry, historyFor } from '../../src/report/history.js';
import { listBaselines, loadBaseline, saveBaseline } from '../../src/store/baselines.js';
import { appendHistory, historyFile, readHistory } from '../../src/store/history.js';
import { readRunRecord, resolveRun } from '../../src/store/run-ref.js';
import { RUN_FIXTURES, runFixture } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/paths.js';

function stateWithRuns(ids: string[]): string {
  const state = tempDir();
  for (const id of ids) {
    mkdirSync(path.join(state, 'runs', id), { recursive: true });
    writeFileSync(path.join(state, 'runs', id, 'run.json'), JSON.stringify({ ...runFixture('baseline'), id }));
  }
  return state;
}

async function userError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

test('run references: id, unique prefix, latest, folder, file; unknown and ambiguous ones explain', async () => {
  const state = stateWithRuns(['20261129-010000-aaaa', '20261129-020000-bbbb', '20261129-020000-bbbc']);
  assert.match((await resolveRun('20261129-010000-aaaa', state)).file, /aaaa\/run\.json$/);
  assert.match((await resolveRun('20261129-01', state)).file, /aaaa\/run\.json$/);
  assert.match((await resolveRun('latest', state)).dir, /bbbc$/);
  assert.is((await resolveRun(path.join(RUN_FIXTURES, 'noisy.json'), state)).file, path.join(RUN_FIXTURES, 'noisy.json'));
  assert.match((await resolveRun(path.join(state, 'runs', '20261129-020000-bbbb'), state)).file, /bbbb\/run\.json$/);
  assert.match(await userError(resolveRun('20261129-0200', state)), "run '20261129-0200' is ambiguous");
  assert.match(await userError(resolveRun('20261129-010000-aaab', state)), "did you mean '20261129-010000-aaaa'?");
  assert.match(await userError(resolveRun('x', tempDir())), '(no runs yet)');
});

test('run records: other schemas and other files are refused with the file named', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'v2.json'), JSON.stringify({ schema: 'trtpipe.run/2' }));
  writeFileSync(path.join(dir, 'junk.json'), '{"cells": [');
  assert.match(await userError(readRunRecord(path.join(dir, 'v2.json'))), 'run record schema trtpipe.run/2 is not readable by this trtpipe');
  assert.match(await userError(readRunRecord(path.join(dir, 'junk.json'))), 'junk.json: not a readable run record');
});

test('baseline save copies the record byte for byte; load finds it by name, or any run', async () => {
  const state = stateWithRuns(['20261129-010000-aaaa']);
  const run = await resolveRun('latest', state);
  const { file } = await saveBaseline(state, run.file, 'main');
  assert.is(readFileSync(file, 'utf8'), readFileSync(run.file, 'utf8'));
  assert.equal(await listBaselines(state), ['main']);
  const byName = await loadBaseline(state, 'main');
  assert.is(byName.name, 'main');
  assert.is(byName.record.id, '20261129-010000-aaaa');
  const byRun = await loadBaseline(state, '20261129-010000-aaaa');
  assert.is(byRun.name, undefined);
  assert.match(await userError(loadBaseline(state, 'mian')), "no baseline 'mian'; did you mean 'main'?");
  assert.match(await userError(saveBaseline(state, run.file, '../evil')), "baseline name '../evil'");
});

test('history: appended line by line, a torn line is skipped, reports see earlier runs of the same pipeline only', async () => {
  const state = tempDir();
  const a = historyEntry(runFixture('baseline'));
  const b = historyEntry(runFixture('noisy'));
  const later = historyEntry(runFixture('regressed'));
  later.id = '20261130-000000-late';
  const other = { ...historyEntry(runFixture('changed')), pipeline: 'other', id: '20261129-000001-othr' };
  for (const e of [a, b, later, other]) await appendHistory(state, e);
  appendFileSync(historyFile(state), '{"id": "torn", "cells": {');
  const { entries, skipped } = await readHistory(state);
  assert.is(entries.length, 4);
  assert.is(skipped, 1);
  assert.equal(entries[0]!.cells['fp16-cpu']!.latency['1'], { p50: 0.12, p90: 0.1744070245860512, p99: 0.31 });
  assert.is(entries[0]!.cells['fp16-cpu']!.host, 'vm');
  const shown = historyFor(runFixture('noisy'), entries);
  assert.equal(shown.map((e) => e.id), [a.id, b.id]);
  assert.equal(await readHistory(tempDir()), { entries: [], skipped: 0 });
});

test.run();
