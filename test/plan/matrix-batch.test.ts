/** The batch axis of the matrix: names, include/exclude, and what each cell builds and measures. */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import type { Pipeline } from '../../src/config/types.js';
import { buildGraph, findNode } from '../../src/plan/graph.js';
import { benchmarkBatches, expandMatrix, expandMatrixDetailed } from '../../src/config/matrix.js';
import { ROOT } from '../helpers/paths.js';

async function quickstart(): Promise<Pipeline> {
  const { pipeline } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  return pipeline!;
}
const withMatrix = (p: Pipeline, m: Partial<Pipeline['matrix']>): Pipeline => ({ ...p, matrix: { ...p.matrix, ...m } });

test('without a batch axis, names stay <pipeline>@<precision>-<target>', async () => {
  assert.equal(expandMatrix(await quickstart()).map((c) => c.name), ['digits@fp32-cpu', 'digits@fp16-cpu']);
});

test('a batch axis adds -b<batch> to every cell, target x precision x batch', async () => {
  const cells = expandMatrix(withMatrix(await quickstart(), { batch: [1, 8] }));
  assert.equal(cells.map((c) => c.name), ['digits@fp32-cpu-b1', 'digits@fp32-cpu-b8', 'digits@fp16-cpu-b1', 'digits@fp16-cpu-b8']);
  assert.equal(cells.map((c) => c.batch), [1, 8, 1, 8]);
});

test('exclude matches on the axes it names; include fills the axes it leaves out; counts per entry', async () => {
  const p = withMatrix(await quickstart(), {
    batch: [1, 8],
    exclude: [{ precision: 'fp16', batch: 1 }, { batch: 64 }],
    include: [{ precision: 'int8' }, { precision: 'fp16', batch: 1 }, { precision: 'fp32', batch: 8 }],
  });
  const { cells, excluded, included } = expandMatrixDetailed(p);
  assert.equal(cells.map((c) => c.id), ['fp32-cpu-b1', 'fp32-cpu-b8', 'fp16-cpu-b8', 'int8-cpu-b1', 'int8-cpu-b8', 'fp16-cpu-b1']);
  assert.equal(excluded, [1, 0]);
  assert.equal(included, [2, 1, 0]);
});

test('each batch cell builds for its batch and benchmarks only it; the report shows every batch', async () => {
  const p = withMatrix(await quickstart(), { batch: [1, 8], precision: ['fp16'] });
  const g = buildGraph(p, expandMatrix(p));
  const node = (id: string) => g.nodes.find((n) => n.id === id)!;
  assert.is(findNode(g, 'build', 'build@fp16-cpu-b8')!.params.batch, 8);
  assert.not.ok('input_shapes' in node('build@fp16-cpu-b8').params, 'no shape ranges declared, none passed');
  // Shape ranges are TensorRT optimization profiles: only TensorRT builds receive them.
  const ranged = { ...p, targets: p.targets.map((t) => ({ ...t, backend: 'tensorrt' as const })), model: { ...p.model, inputs: { input: { min: [1, 1, 8, 8], max: [8, 1, 8, 8] } } } };
  const build = findNode(buildGraph(ranged, expandMatrix(ranged)), 'build', 'build@fp16-cpu-b8')!;
  assert.equal(build.params.input_shapes, { input: { min: [1, 1, 8, 8], max: [8, 1, 8, 8] } });
  assert.equal(findNode(g, 'benchmark', 'benchmark@fp16-cpu-b8')!.params.batches, [8]);
  assert.equal(findNode(g, 'benchmark', 'benchmark@fp16-cpu-b1')!.params.batches, [1]);
  assert.is(node('transform@fp16').cells.length, 2, 'the transform is shared across batches');
  assert.equal(benchmarkBatches(p), [1, 8]);
  const trt = { ...p, targets: [{ ...p.targets[0]!, backend: 'tensorrt' as const }] };
  const nodes = buildGraph(trt, expandMatrix(trt)).nodes;
  assert.equal(nodes.filter((n) => ['build', 'evaluate', 'benchmark'].includes(n.stage)).map((n) => (n.params as { backend?: string }).backend), Array(6).fill('tensorrt'),
    'evaluate and benchmark load the engine with the backend that built it');
  assert.equal(benchmarkBatches(await quickstart()), [1, 32]);
});

test.run();
