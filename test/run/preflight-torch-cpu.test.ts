/**
 * Preflight for the torch backend on the CPU (build.device: cpu, the testing
 * setting): the runner needs torch, not a GPU, so a host without CUDA, whose
 * runner says torch is unavailable for want of a device, still runs it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { capabilitiesFromJson } from '../../src/runner-client/capabilities.js';
import { preflight } from '../../src/run/preflight.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';

async function findings(device: string, torch: { version: string; reason: string }) {
  const file = path.join(tempDir(), 'p.yaml');
  writeFileSync(
    file,
    `version: 1
name: p
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data: { evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels } }
targets: [{ name: t, backend: torch, build: { device: ${device} } }]
matrix: { precision: [fp32, bf16] }
`,
  );
  const { pipeline } = await loadPipeline(file);
  // What a runner on a host without a GPU reports (capabilities.probe_torch).
  const caps = capabilitiesFromJson({
    backends: [{ name: 'torch', available: false, version: torch.version, unavailableReason: torch.reason }],
    gpus: [],
  });
  return preflight(pipeline!, expandMatrix(pipeline!), new Map([['t', caps]]));
}

test('torch on the CPU needs torch installed, not a GPU', async () => {
  assert.equal(await findings('cpu', { version: '2.11.0', reason: 'torch: no CUDA device' }), []);
});

test('torch on the CPU without torch installed, or torch on CUDA without a GPU, is refused', async () => {
  const missing = await findings('cpu', { version: '', reason: 'torch: not installed' });
  assert.equal([...new Set(missing.map((f) => f.message))], ['backend torch is not available on the runner: torch: not installed']);
  const cuda = await findings('cuda', { version: '2.11.0', reason: 'torch: no CUDA device' });
  assert.equal([...new Set(cuda.map((f) => f.message))], ['backend torch is not available on the runner: torch: no CUDA device']);
});

test.run();
