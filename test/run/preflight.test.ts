/**
 * Preflight against a runner's reported capabilities. The runner is described by the data
 * GetCapabilities returns (a TensorRT GPU host cannot run here); the pipeline is a real one.
 */
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipeline } from '../../src/config/load.js';
import type { Pipeline, Target } from '../../src/config/types.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { preflight } from '../../src/run/preflight.js';
import { capabilitiesFromJson, type RunnerCapabilities } from '../../src/runner-client/capabilities.js';
import { satisfies } from '../../src/config/version-range.js';
import { ROOT } from '../helpers/paths.js';

async function onTarget(target: Partial<Target>, precisions: Pipeline['matrix']['precision']): Promise<Pipeline> {
  const { pipeline } = await loadPipeline(path.join(ROOT, 'pipelines', 'quickstart.yaml'));
  const t: Target = { ...pipeline!.targets[0]!, name: 'gpu', ...target };
  return { ...pipeline!, targets: [t], matrix: { ...pipeline!.matrix, precision: precisions, target: ['gpu'] } };
}

/** A TensorRT runner as its GetCapabilities says: precisions for every GPU, the GPUs themselves. */
function trtRunner(version: string, precisions: string[], gpus: [string, string][]): RunnerCapabilities {
  return capabilitiesFromJson({
    runnerVersion: '0.1.0',
    backends: [{ name: 'tensorrt', available: true, version, precisions }],
    gpus: gpus.map(([name, computeCapability], index) => ({ index, name, computeCapability, driverVersion: '580.1' })),
  });
}

function findings(p: Pipeline, caps: RunnerCapabilities) {
  return preflight(p, expandMatrix(p), new Map([['gpu', caps]]));
}

test('require.tensorrt "10" admits a 10.12 runner, as validation reads it (was refused, exit 3)', async () => {
  const p = await onTarget({ backend: 'tensorrt', require: { tensorrt: '10' } }, ['fp16']);
  assert.equal(findings(p, trtRunner('10.12.0.36', ['fp32', 'fp16'], [['NVIDIA L4', '8.9']])), []);
  const refused = findings(p, trtRunner('11.1.0', ['fp32', 'fp16'], [['NVIDIA L4', '8.9']]));
  assert.equal(
    refused.map((f) => f.message),
    ['target requires TensorRT 10; the runner has 11.1.0'],
  );
});

test('one reading of version ranges: satisfies() agrees with validation', () => {
  assert.ok(satisfies('10.12.0.36', '10') && satisfies('10.12', '>=10.12 <12') && satisfies('9.0', '>=8.9'));
  assert.not.ok(satisfies('11.0', '10') || satisfies('8.6', '>=8.9') || satisfies('', '>=1') || satisfies('10.x', '10'));
  assert.ok(satisfies('8.6', '8.6') && satisfies('12.0', '>=8.9') && !satisfies('8.6', '==8.9'));
});

test('require.precisions is enforced: a runner that does not run one natively is refused', async () => {
  const p = await onTarget({ backend: 'tensorrt', require: { precisions: ['fp16', 'fp8'] } }, ['fp16']);
  const f = findings(p, trtRunner('10.12.0', ['fp32', 'tf32', 'fp16', 'bf16', 'int8'], [['NVIDIA A100', '8.0']]));
  assert.equal(
    f.map((x) => [x.severity, x.message]),
    [['error', 'target requires fp8, which tensorrt on this runner does not run natively (it runs fp32, tf32, fp16, bf16, int8)']],
  );
});

test('every GPU counts: the second GPU below the required compute capability is named', async () => {
  const p = await onTarget({ backend: 'tensorrt', require: { compute_capability: '>=8.9' } }, ['fp16']);
  const f = findings(
    p,
    trtRunner(
      '10.12.0',
      ['fp32', 'fp16'],
      [
        ['NVIDIA H100', '9.0'],
        ['NVIDIA A10', '8.6'],
      ],
    ),
  );
  assert.equal(
    f.map((x) => x.message),
    ['target requires compute capability >=8.9; GPU 1 (NVIDIA A10) is 8.6'],
  );
});

test("a precision the runner does not run is refused with the runner's word, and why per GPU", async () => {
  const p = await onTarget({ backend: 'tensorrt' }, ['fp8']);
  const f = findings(
    p,
    trtRunner(
      '10.12.0',
      ['fp32', 'tf32', 'fp16', 'bf16', 'int8'],
      [
        ['NVIDIA H100', '9.0'],
        ['NVIDIA A100', '8.0'],
      ],
    ),
  );
  assert.equal(
    f.map((x) => x.message),
    [
      'fp8 is not among the precisions tensorrt runs on this runner (fp32, tf32, fp16, bf16, int8): fp8 needs compute capability 8.9 or newer; GPU 1 (NVIDIA A100) is 8.0',
    ],
  );
  // The runner's list decides: where it says it runs int8, no table of trtpipe's overrules it.
  assert.equal(findings(await onTarget({ backend: 'tensorrt' }, ['int8']), trtRunner('10.12.0', ['fp32', 'int8'], [['T4', '7.5']])), []);
});

test('slow fp16 is a warning; no GPU is an error', async () => {
  const p = await onTarget({ backend: 'torch' }, ['fp16']);
  const torch = (gpus: [string, string][]) =>
    capabilitiesFromJson({
      backends: [{ name: 'torch', available: true, version: '2.11', precisions: ['fp32', 'fp16', 'int8', 'fp8'] }],
      gpus: gpus.map(([name, computeCapability]) => ({ name, computeCapability })),
    });
  const slow = findings(p, torch([['GeForce GTX 1080', '6.1']]));
  assert.equal(
    slow.map((x) => x.severity),
    ['warning'],
  );
  assert.match(slow[0]!.message, /6\.1.*slower/);
  assert.equal(
    findings(p, torch([])).map((x) => x.message),
    ['backend torch needs an NVIDIA GPU and the runner has none'],
  );
});

test('an ONNX Runtime target is checked against what it offers (emulated ones with numerics: emulated)', async () => {
  const ort = capabilitiesFromJson({
    backends: [
      {
        name: 'onnxruntime',
        available: true,
        version: '1.32',
        precisions: ['fp32'],
        widerPrecisions: ['fp16'],
        emulatedPrecisions: ['fp16', 'bf16', 'int8', 'fp8'],
      },
    ],
  });
  const native = await onTarget({ backend: 'onnxruntime', require: { precisions: ['fp16'] } }, ['fp16']);
  assert.equal(findings(native, ort).length, 1);
  const emulated = await onTarget({ backend: 'onnxruntime', numerics: 'emulated', require: { precisions: ['fp16', 'bf16'] } }, ['fp16']);
  assert.equal(findings(emulated, ort), []);
});

test.run();
