/** What `trtpipe plan` says about each stage: cached, to run, unknown (runner not asked yet) or not cacheable. */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import { stageStatuses } from '../../src/plan/cache-status.js';
import { buildGraph } from '../../src/plan/graph.js';
import { computeKeys } from '../../src/plan/keys.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { targetIdentity } from '../../src/plan/target-identity.js';
import { ROOT } from '../helpers/paths.js';

async function graph() {
  const { pipeline } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  return { p: pipeline!, g: buildGraph(pipeline!, expandMatrix(pipeline!)) };
}
const files = (g: Awaited<ReturnType<typeof graph>>['g']) =>
  new Map(g.nodes.flatMap((n) => Object.values(n.inputs)).flatMap((i) => (i.kind === 'file' ? [[i.path, 'f'.repeat(64)] as [string, string]] : [])));

test('without a known runner, only runner-independent stages have keys', async () => {
  const { g } = await graph();
  const fileHashes = files(g);
  const keys = computeKeys(g, { fileHashes, targetIdentity: new Map() });
  const s = stageStatuses(g, { keys, knownTargets: new Set(), hashedFiles: new Set(fileHashes.keys()), isCached: () => false });
  assert.equal(s.get('inspect')!.status, 'to-run');
  assert.equal(s.get('reference'), { status: 'unknown', reason: "unknown until the runner of 'cpu' is asked" });
  assert.equal(s.get('transform@fp16'), { status: 'unknown', reason: 'unknown until the runner is asked' });
});

test('with an identity from a past run every stage has a key; cached ones are found', async () => {
  const { p, g } = await graph();
  const fileHashes = files(g);
  const identity = targetIdentity(p.targets[0]!, { runnerVersion: '0.1.0', backends: [{ name: 'onnxruntime', version: '1.23.2' }], gpus: [] });
  const keys = computeKeys(g, { fileHashes, targetIdentity: new Map([['cpu', identity]]) });
  assert.is(keys.size, g.nodes.length);
  const cached = new Set([keys.get('reference')!, keys.get('inspect')!]);
  const s = stageStatuses(g, { keys, knownTargets: new Set(['cpu']), hashedFiles: new Set(fileHashes.keys()), isCached: (k) => cached.has(k) });
  assert.equal([...s].filter(([, v]) => v.status === 'cached').map(([id]) => id), ['inspect', 'reference']);
  assert.ok([...s.values()].every((v) => v.status === 'cached' || v.status === 'to-run'));
});

test('a stage reading data without a content hash, and what depends on it, is not cacheable', async () => {
  const { g } = await graph();
  const fileHashes = files(g);
  const calib = [...fileHashes.keys()].find((f) => f.endsWith('calib.npz'))!;
  fileHashes.delete(calib);
  const keys = computeKeys(g, { fileHashes, targetIdentity: new Map([['cpu', { backend: 'onnxruntime' }]]) });
  const s = stageStatuses(g, { keys, knownTargets: new Set(['cpu']), hashedFiles: new Set(fileHashes.keys()), isCached: () => false });
  assert.is(s.get('ranges')!.status, 'not-cacheable');
  assert.is(s.get('build@fp16-cpu')!.status, 'not-cacheable');
  assert.is(s.get('reference')!.status, 'to-run');
});

test.run();
