/** The recorded run records under test/fixtures/runs (see make_fixtures.py there). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths.js';
import type { RunRecord } from '../../src/gen/schema/run-record.js';

export const RUN_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'runs');

/** A fresh copy each call: tests may change it. */
export function runFixture(name: 'baseline' | 'noisy' | 'regressed' | 'changed'): RunRecord {
  return JSON.parse(readFileSync(path.join(RUN_FIXTURES, `${name}.json`), 'utf8')) as RunRecord;
}
