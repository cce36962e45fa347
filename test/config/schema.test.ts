/**
 * The committed JSON Schema: compiled strictly, snapshot-tested as a readable
 * outline of the language (test/config/schema.outline.txt; any change to the
 * schema shows there in review), documented for editors, its `default`
 * annotations equal to normalize's DEFAULTS, its patterns free of
 * catastrophic backtracking, and referenced by every committed pipeline.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pipelineFiles } from '../../src/cli/pipeline-files.js';
import { DEFAULTS } from '../../src/config/normalize.js';
import { SCHEMA_PATH } from '../../src/paths.js';
import { ROOT } from '../helpers/paths.js';

type Schema = Record<string, unknown>;
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
const defs = schema.$defs as Record<string, Schema>;
const OUTLINE = path.join(ROOT, 'test', 'config', 'schema.outline.txt');

const deref = (s: Schema): Schema => (typeof s.$ref === 'string' ? { ...defs[s.$ref.replace('#/$defs/', '')]!, ...s } : s);

/** Every property as `path: type [enum] (required) = default`, depth first. */
function outline(s: Schema, at: string, required: boolean, out: string[], seen: Set<string>) {
  const ref = typeof s.$ref === 'string' ? s.$ref : undefined;
  const node = deref(s);
  const type = node.enum ? `one of ${(node.enum as unknown[]).join(' | ')}` : node.const !== undefined ? `= ${JSON.stringify(node.const)}`
    : node.anyOf ? String(node['x-expected'] ?? 'any of several') : Array.isArray(node.type) ? node.type.join(' | ') : String(node.type ?? 'any');
  const extra = [
    ...(required ? ['required'] : []),
    ...(node.default !== undefined ? [`default ${JSON.stringify(node.default)}`] : []),
    ...(node.pattern ? [`pattern ${String(node.pattern)}`] : []),
    ...(['minimum', 'exclusiveMinimum', 'maximum', 'minItems', 'minLength', 'maxLength'] as const)
      .filter((k) => node[k] !== undefined).map((k) => `${k} ${String(node[k])}`),
  ];
  if (at) out.push(`${at}: ${type}${extra.length ? ` (${extra.join(', ')})` : ''}`);
  if (ref && seen.has(ref)) return;
  const inner = new Set(seen);
  if (ref) inner.add(ref);
  const req = new Set((node.required as string[] | undefined) ?? []);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) outline(v, at ? `${at}.${k}` : k, req.has(k), out, inner);
  if (node.items) outline(node.items as Schema, `${at}[]`, false, out, inner);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') outline(node.additionalProperties as Schema, `${at}.<name>`, false, out, inner);
}

test('the schema compiles with ajv 2020 in strict mode, with every error reported', () => {
  const require = createRequire(import.meta.url);
  const Ajv2020 = require('ajv/dist/2020').default as typeof import('ajv').default;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  const validate = ajv.compile(schema);
  assert.is(validate({}), false);
  assert.ok((validate.errors ?? []).length >= 5, 'all five required keys are reported at once');
});

test('the schema outline matches its snapshot (TRTPIPE_UPDATE_SNAPSHOTS=1 rewrites it)', () => {
  const lines: string[] = [];
  outline(schema, '', false, lines, new Set());
  const text = `# Generated from pipelines/schema/pipeline.schema.json by test/config/schema.test.ts.\n${lines.join('\n')}\n`;
  if (process.env.TRTPIPE_UPDATE_SNAPSHOTS) writeFileSync(OUTLINE, text);
  assert.fixture(text, readFileSync(OUTLINE, 'utf8'));
});

test('every property carries a description (editors show it on hover)', () => {
  const missing: string[] = [];
  const walk = (s: Schema, at: string, seen: Set<string>) => {
    const node = deref(s);
    if (at && !node.description) missing.push(at);
    const ref = typeof s.$ref === 'string' ? s.$ref : undefined;
    if (ref && seen.has(ref)) return;
    const inner = new Set(seen);
    if (ref) inner.add(ref);
    for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) walk(v, at ? `${at}.${k}` : k, inner);
    // List items need their own description only when they are mappings.
    if (node.items && deref(node.items as Schema).type === 'object') walk(node.items as Schema, `${at}[]`, inner);
  };
  walk(schema, '', new Set());
  assert.equal(missing, []);
});

test("the schema's default annotations are normalize's DEFAULTS", () => {
  // schema location -> the value normalize applies there
  const expected: Record<string, unknown> = {
    'precisionPolicy.default': DEFAULTS.precision.default,
    'precisionPolicy.io': DEFAULTS.precision.io,
    'precisionPolicy.safety.data_max': DEFAULTS.precision.safety.data_max,
    'precisionPolicy.safety.init_max': DEFAULTS.precision.safety.init_max,
    'precisionPolicy.safety.reduction_depth': DEFAULTS.precision.safety.reduction_depth,
    'precisionPolicy.search.max_evaluations': DEFAULTS.precision.search.max_evaluations,
    'precisionPolicy.search.evaluator': DEFAULTS.precision.search.evaluator,
    'precisionPolicy.search.ranking': DEFAULTS.precision.search.ranking,
    'dataSource.synthetic.seed': DEFAULTS.synthetic.seed,
    'dataSource.synthetic.low': DEFAULTS.synthetic.low,
    'dataSource.synthetic.high': DEFAULTS.synthetic.high,
    'dataSource.synthetic.samples': DEFAULTS.synthetic.samples,
    'dataSource.allow_nonfinite': DEFAULTS.allowNonfinite,
    'calibration.method': DEFAULTS.calibration.method,
    'calibration.percentile': DEFAULTS.calibration.percentile,
    'calibration.per_channel': DEFAULTS.calibration.per_channel,
    'calibration.smoothing.alpha': DEFAULTS.smoothing.alpha,
    'target.backend': DEFAULTS.target.backend,
    'target.numerics': DEFAULTS.target.numerics,
    'target.build.opt_level': DEFAULTS.target.build.opt_level,
    'target.build.threads': DEFAULTS.target.build.threads,
    'benchmark.batch': DEFAULTS.benchmark.batch,
    'benchmark.warmup': DEFAULTS.benchmark.warmup,
    'benchmark.warmup_seconds': DEFAULTS.benchmark.warmup_seconds,
    'benchmark.iterations': DEFAULTS.benchmark.iterations,
    'benchmark.max_seconds': DEFAULTS.benchmark.max_seconds,
    'benchmark.repeats': DEFAULTS.benchmark.repeats,
    'benchmark.noise_max': DEFAULTS.benchmark.noise_max,
    'gates.precision_drift.allow': DEFAULTS.gates.precision_drift.allow,
  };
  const found: Record<string, unknown> = {};
  const walk = (s: Schema, at: string) => {
    if (s.default !== undefined) found[at] = s.default;
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) walk(v, `${at}.${k}`);
  };
  for (const [name, def] of Object.entries(defs)) walk(def, name);
  assert.equal(found, expected);
});

test('no pattern backtracks catastrophically on long input', () => {
  const patterns: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (k === 'pattern' && typeof x === 'string' ? patterns.push(x) : walk(x));
  };
  walk(schema);
  assert.ok(patterns.length >= 6);
  for (const p of patterns) {
    const re = new RegExp(p, 'u');
    for (const unit of ['1', '1 ', '1.', '>=1 ', ':1', 'a', 'a-', '1,']) {
      const input = `${unit.repeat(3000)}\u0000`;
      const t0 = performance.now();
      re.test(input);
      const ms = performance.now() - t0;
      assert.ok(ms < 50, `/${p}/ took ${ms.toFixed(0)} ms on '${unit}' x 3000`);
    }
  }
});

test('every pipeline in pipelines/ and examples/ names the schema for editors on its first line', () => {
  const files = pipelineFiles([path.join(ROOT, 'pipelines'), path.join(ROOT, 'examples')]);
  assert.ok(files.length >= 4);
  for (const file of files) {
    const first = readFileSync(file, 'utf8').split('\n')[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    assert.ok(m, `${path.relative(ROOT, file)}: first line is '${first}'`);
    assert.is(path.resolve(path.dirname(file), m[1]!), SCHEMA_PATH, `${path.relative(ROOT, file)} points elsewhere`);
  }
});

test.run();
