/**
 * The stage contract (proto/trtpipe/runner/v1/contract/): what the orchestrator sends every stage
 * of every committed pipeline fits the stage's JSON Schema, the one the runner checks params
 * against; the shared vocabulary and the schemas name the same precisions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import { PRECISIONS, QUANTIZED_PRECISIONS, LOWERED_PRECISIONS, PRECISION_INFO } from '../../src/gen/contract/vocabulary.js';
import { STAGE_NAMES } from '../../src/gen/contract/stages.js';
import { buildGraph } from '../../src/plan/graph.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { pipelineFiles } from '../../src/cli/pipeline-files.js';
import { ROOT } from '../helpers/paths.js';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const DIR = path.join(ROOT, 'proto', 'trtpipe', 'runner', 'v1', 'contract');
const STAGES = path.join(DIR, 'stages');

function contract() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword('tsType'); // json-schema-to-typescript's, for values JSON Schema cannot type (Measure)
  for (const f of readdirSync(STAGES).filter((x) => x.endsWith('.schema.json')))
    ajv.addSchema(JSON.parse(readFileSync(path.join(STAGES, f), 'utf8')));
  const pascal = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  return (stage: string, params: unknown) => {
    const validate = ajv.getSchema(`${stage}.schema.json#/$defs/${pascal(stage)}Params`)!;
    return validate(params)
      ? []
      : (validate.errors as { instancePath: string; message: string }[]).map((e) => `${e.instancePath} ${e.message}`);
  };
}

test('every stage of every committed pipeline gets params that fit its schema', async () => {
  const check = contract();
  const files = pipelineFiles([path.join(ROOT, 'pipelines'), path.join(ROOT, 'examples')]);
  assert.ok(files.length >= 8);
  let nodes = 0;
  for (const file of files) {
    const { pipeline } = await loadPipeline(file);
    assert.ok(pipeline, file);
    for (const n of buildGraph(pipeline!, expandMatrix(pipeline!)).nodes) {
      assert.equal(check(n.stage, JSON.parse(JSON.stringify(n.params))), [], `${path.relative(ROOT, file)} ${n.id}`);
      nodes += 1;
    }
  }
  assert.ok(nodes > 100, `${nodes} nodes checked`);
});

test('a missing required key does not fit (what the runner refuses as INVALID_ARGUMENT)', async () => {
  const check = contract();
  const { pipeline } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  const transform = buildGraph(pipeline!, expandMatrix(pipeline!)).nodes.find((n) => n.stage === 'transform')!;
  const params = JSON.parse(JSON.stringify(transform.params));
  assert.equal(params.policy.safety, { data_max: 512, init_max: 65504, reduction_depth: null }, 'the pipeline default, sent');
  assert.equal(params.policy.unquantized, 'fp32', 'no tensorrt target: fp32, sent');
  delete params.policy.safety;
  assert.equal(check('transform', params), ["/policy must have required property 'safety'"]);
});

test('the vocabulary and the schemas name the same precisions; every stage has a schema', () => {
  const common = JSON.parse(readFileSync(path.join(STAGES, 'common.schema.json'), 'utf8'));
  assert.equal(common.$defs.Precision.enum, [...PRECISIONS]);
  const pipeline = JSON.parse(readFileSync(path.join(ROOT, 'pipelines', 'schema', 'pipeline.schema.json'), 'utf8'));
  assert.equal(pipeline.$defs.precision.enum, [...PRECISIONS]);
  assert.equal([...QUANTIZED_PRECISIONS], ['int8', 'fp8']);
  assert.equal([...LOWERED_PRECISIONS], ['fp16', 'bf16', 'int8', 'fp8']);
  assert.equal(PRECISION_INFO.fp8.minComputeCapability, '8.9');
  for (const s of ['inspect', 'reference', 'calibrate', 'search', 'transform', 'build', 'evaluate', 'benchmark', 'hold']) {
    assert.ok((STAGE_NAMES as readonly string[]).includes(s), s);
  }
});

test.run();
