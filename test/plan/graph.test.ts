import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import type { Pipeline } from '../../src/config/types.js';
import { DEFAULTS } from '../../src/config/normalize.js';
import { buildGraph, findNode } from '../../src/plan/graph.js';
import { computeKeys } from '../../src/plan/keys.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { ROOT } from '../helpers/paths.js';

async function quickstart(): Promise<Pipeline> {
  const { pipeline } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  return pipeline!;
}

function withMatrix(p: Pipeline, m: Partial<Pipeline['matrix']>, targets = ['cpu', 'gpu']): Pipeline {
  return {
    ...p,
    targets: targets.map((name) => ({ ...p.targets[0]!, name })),
    matrix: { precision: ['fp32'], target: targets, include: [], exclude: [], ...m },
  };
}

test('cells are named <pipeline>@<precision>-<target> in matrix order', async () => {
  const cells = expandMatrix(await quickstart());
  assert.equal(cells.map((c) => c.name), ['digits@fp32-cpu', 'digits@fp16-cpu']);
});

test('exclude removes and include adds cells', async () => {
  const p = withMatrix(await quickstart(), {
    precision: ['fp32', 'fp16'],
    exclude: [{ precision: 'fp16', target: 'cpu' }],
    include: [{ precision: 'int8', target: 'gpu' }],
  });
  assert.equal(expandMatrix(p).map((c) => c.id), ['fp32-cpu', 'fp32-gpu', 'fp16-gpu', 'int8-gpu']);
});

test('shared stages run once; per-cell stages once per cell; order respects dependencies', async () => {
  const p = await quickstart();
  const g = buildGraph(p, expandMatrix(p));
  assert.equal(g.nodes.map((n) => n.id), [
    'inspect', 'reference', 'ranges', 'transform@fp32', 'build@fp32-cpu', 'evaluate@fp32-cpu', 'benchmark@fp32-cpu',
    'transform@fp16', 'build@fp16-cpu', 'evaluate@fp16-cpu', 'benchmark@fp16-cpu',
  ]);
  const seen = new Set<string>();
  for (const n of g.nodes) {
    for (const d of n.deps) assert.ok(seen.has(d), `${n.id} depends on ${d}, which comes later`);
    seen.add(n.id);
  }
  assert.equal(g.nodes.find((n) => n.id === 'reference')!.cells, ['fp32-cpu', 'fp16-cpu']);
  const transform = findNode(g, 'transform', 'transform@fp16')!;
  assert.equal(transform.params.policy.default, 'fp16');
});

test('calibration.smoothing reaches the calibrate node only when given', async () => {
  const { pipeline: minilm } = await loadPipeline(path.join(ROOT, 'pipelines', 'minilm.yaml'));
  const calibrate = (p: Pipeline) => findNode(buildGraph(p, expandMatrix(p)), 'calibrate', 'calibrate')!.params;
  assert.equal(calibrate(minilm!).smoothing, { alpha: 0.8 });
  const plain = { ...minilm!, calibration: { method: 'entropy' as const, percentile: 99.99, per_channel: true } };
  assert.not.ok('smoothing' in calibrate(plain), 'absent: cache keys of pipelines without smoothing stay put');
});

test('keys change exactly when an input changes', async () => {
  const p = await quickstart();
  const g = buildGraph(p, expandMatrix(p));
  const files = new Map(g.nodes.flatMap((n) => Object.values(n.inputs)).filter((i) => i.kind === 'file').map((i) => [(i as { path: string }).path, 'a'.repeat(64)]));
  const identity = new Map([['cpu', { backend: 'onnxruntime', backendVersion: '1.32.0' }]]);
  const k1 = computeKeys(g, { fileHashes: files, targetIdentity: identity });
  const k2 = computeKeys(g, { fileHashes: files, targetIdentity: identity });
  assert.equal([...k1], [...k2]);
  assert.equal(k1.size, g.nodes.length);
  const changed = new Map(files);
  changed.set(p.data.evaluation.npz!, 'b'.repeat(64));
  const k3 = computeKeys(g, { fileHashes: changed, targetIdentity: identity });
  assert.equal(k3.get('inspect'), k1.get('inspect'), 'inspect does not read the data');
  assert.equal(k3.get('transform@fp16'), k1.get('transform@fp16'), 'transform reads ranges from calibration data only');
  assert.not.equal(k3.get('reference'), k1.get('reference'));
  assert.not.equal(k3.get('evaluate@fp16-cpu'), k1.get('evaluate@fp16-cpu'));
  const newer = new Map([['cpu', { backend: 'onnxruntime', backendVersion: '1.33.0' }]]);
  const k4 = computeKeys(g, { fileHashes: files, targetIdentity: newer });
  assert.equal(k4.get('inspect'), k1.get('inspect'), 'inspect is runner independent');
  assert.not.equal(k4.get('ranges'), k1.get('ranges'), 'ranges come from the runner\'s FP32 run');
  assert.not.equal(k4.get('build@fp16-cpu'), k1.get('build@fp16-cpu'));
});

test('a node with an unhashable input gets no key, nor do its dependents', async () => {
  const p = await quickstart();
  const g = buildGraph(p, expandMatrix(p));
  const keys = computeKeys(g, { fileHashes: new Map(), targetIdentity: new Map() });
  assert.equal(keys.size, 0);
});

test('TensorRT builds get the input ranges and the largest batch they must run; other backends do not', async () => {
  const q = await quickstart();
  const p: Pipeline = {
    ...q,
    model: { ...q.model, inputs: { input: { min: [1, 1, 8, 8], max: [8, 1, 8, 8] } } },
    benchmark: { ...q.benchmark, batch: [1, 64] },
    targets: [q.targets[0]!, { ...q.targets[0]!, name: 'gpu', backend: 'tensorrt' }],
    matrix: { precision: ['fp16'], target: ['cpu', 'gpu'], include: [], exclude: [] },
  };
  const builds = buildGraph(p, expandMatrix(p)).nodes.filter((n) => n.stage === 'build');
  const gpu = builds.find((n) => n.id === 'build@fp16-gpu')!;
  assert.equal(gpu.params.input_shapes, { input: { min: [1, 1, 8, 8], max: [8, 1, 8, 8] } });
  assert.equal(gpu.params.max_batch, 64);
  const cpu = builds.find((n) => n.id === 'build@fp16-cpu')!;
  assert.not.ok('input_shapes' in cpu.params || 'max_batch' in cpu.params, 'ONNX Runtime keys stay unchanged');
});

test('evaluate and benchmark load the engine with the target\'s backend; torch settings reach the build', async () => {
  const q = await quickstart();
  const gpu = { ...q.targets[0]!, name: 'gpu', backend: 'torch' as const,
    build: { ...q.targets[0]!.build, cuda_graph: true } };
  const p: Pipeline = { ...q, targets: [q.targets[0]!, gpu],
    matrix: { precision: ['fp16'], target: ['cpu', 'gpu'], include: [], exclude: [] } };
  const nodes = buildGraph(p, expandMatrix(p)).nodes;
  const backendOf = (id: string) => (nodes.find((n) => n.id === id)!.params as { backend?: string }).backend;
  for (const stage of ['build', 'evaluate', 'benchmark']) {
    assert.equal(backendOf(`${stage}@fp16-gpu`), 'torch', stage);
    assert.equal(backendOf(`${stage}@fp16-cpu`), 'onnxruntime', stage);
  }
  assert.equal(findNode({ cells: [], nodes }, 'build', 'build@fp16-gpu')!.params.cuda_graph, true);
});

test('evaluate.localize adds a localize node per cell that is not fp32, after its transform, with the tolerance', async () => {
  const p = await quickstart();
  const off = buildGraph(p, expandMatrix(p));
  assert.not.ok(off.nodes.some((n) => n.stage === 'localize'), 'off unless asked for');
  const on: Pipeline = {
    ...p,
    evaluate: {
      ...p.evaluate,
      localize: { ...DEFAULTS.evaluate.localize, samples: 16, mask: 'attention_mask' },
      tolerances: { cosine: { min: 0.999 } },
    },
  };
  const g = buildGraph(on, expandMatrix(on));
  const loc = g.nodes.filter((n) => n.stage === 'localize');
  assert.equal(loc.map((n) => n.id), ['localize@fp16-cpu']);
  const node = loc[0]!;
  assert.ok(node.stage === 'localize');
  assert.equal(node.inputs.annotated, { kind: 'stage', node: 'transform@fp16', output: 'model' });
  assert.equal(node.inputs.model, { kind: 'file', path: p.model.path, role: 'model' });
  const build = g.nodes.find((n) => n.id === 'build@fp16-cpu')!;
  // The capture builds the annotated model as the cell's build does: the same backend settings.
  assert.equal(node.params.build, build.params);
  assert.is(node.params.impact_nodes, DEFAULTS.evaluate.localize.impact_nodes, 'the default, sent');
  assert.equal(node.params.tolerance, { cosine: 0.999 });
  assert.is(node.params.samples, 16);
  assert.is(node.params.mask, 'attention_mask');
});

test.run();
