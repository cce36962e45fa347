/**
 * run.json and <pipeline>.lock.json have JSON Schemas (pipelines/schema/, shipped with the
 * package for CI tools); the TypeScript types are generated from them. Recorded run records
 * (test/fixtures/runs, real runs) and a lockfile as `trtpipe lock` writes it fit them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RUN_FIXTURES } from '../helpers/fixtures.js';
import { ROOT } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const SCHEMAS = path.join(ROOT, 'pipelines', 'schema');
const load = (f: string) => JSON.parse(readFileSync(path.join(SCHEMAS, f), 'utf8'));

function validator(file: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword('tsType'); // json-schema-to-typescript's: the generated type's spelling
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  ajv.addSchema(load('pipeline.schema.json'), 'pipeline.schema.json');
  const validate = ajv.compile(load(file));
  return (value: unknown) =>
    validate(value) ? [] : (validate.errors as { instancePath: string; message: string }[]).map((e) => `${e.instancePath} ${e.message}`);
}

test('recorded run records fit run.schema.json (NaN written as null included)', () => {
  const check = validator('run.schema.json');
  const files = readdirSync(RUN_FIXTURES).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 4);
  for (const f of files) assert.equal(check(JSON.parse(readFileSync(path.join(RUN_FIXTURES, f), 'utf8'))), [], f);
});

test('a run record missing a required key does not fit', () => {
  const check = validator('run.schema.json');
  const record = JSON.parse(readFileSync(path.join(RUN_FIXTURES, 'baseline.json'), 'utf8'));
  delete record.stages[Object.keys(record.stages)[0]!].status;
  assert.match(check(record).join('\n'), /must have required property 'status'/);
});

test('a lockfile fits lock.schema.json', () => {
  const check = validator('lock.schema.json');
  const lock = {
    schema: 'trtpipe.lock/1',
    pipeline: 'digits',
    model: { path: '../examples/digits/model.onnx', sha256: 'a'.repeat(64) },
    precisions: { fp16: { nodes: [{ node: '/conv1/Conv', op: 'Conv', requested: 'fp16', resolved: 'fp16', reason: 'POLICY_DEFAULT' }] } },
  };
  assert.equal(check(lock), []);
  assert.equal(check({ ...lock, schema: 'trtpipe.lock/2' }), ['/schema must be equal to constant']);
});

test.run();
