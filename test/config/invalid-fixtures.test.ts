/**
 * The table of invalid pipelines: every file in test/fixtures/invalid/ states
 * the diagnostics it must produce in `# expect:` lines (line:col, key path,
 * message and hint exactly as `trtpipe validate` prints them; a file name
 * first when the problem is in a file it extends). One test loads them all
 * and reports every mismatch at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import { headline } from '../../src/config/render.js';
import { ROOT } from '../helpers/paths.js';

const DIR = path.join(ROOT, 'test', 'fixtures', 'invalid');
/** The environment `${VAR}` fixtures see: fixed, so results do not depend on the machine. */
export const FIXTURE_ENV = { TRTPIPE_FIXTURE_WORD: 'fast', TRTPIPE_FIXTURE_EMPTY: '' };

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

test('the table holds at least 100 invalid pipelines', () => {
  assert.ok(files.length >= 100, `only ${files.length} fixtures`);
});

test('every invalid pipeline yields exactly its stated diagnostics, and at least one error', async () => {
  const problems: string[] = [];
  for (const name of files) {
    const expected = readFileSync(path.join(DIR, name), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('# expect: '))
      .map((l) => l.slice('# expect: '.length));
    const { pipeline, diagnostics } = await loadPipeline(name, { cwd: DIR, env: FIXTURE_ENV });
    const actual = diagnostics.map((d) => headline(d, d.file !== name));
    if (!expected.length) problems.push(`${name}: states no expected diagnostics`);
    if (pipeline || !diagnostics.some((d) => d.severity === 'error')) problems.push(`${name}: loaded without errors`);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      problems.push(`${name}:\n  expected:\n${expected.map((e) => `    ${e}`).join('\n')}\n  actual:\n${actual.map((a) => `    ${a}`).join('\n')}`);
    }
  }
  assert.ok(!problems.length, `${problems.length} fixture(s) differ:\n${problems.join('\n')}`);
});

test.run();
