/**
 * bench/precision: on ONNX Runtime CPU, for each example, latency of fp16 and
 * int8 as ratios to fp32 measured in the same run (p50, batch 1 and 32), and
 * for the digits CNN the three INT8 calibrators side by side (top-1, cosine).
 * fp16 on a CPU is expected to be slower: ONNX Runtime computes it in fp32
 * and adds casts; int8 Q/DQ runs dequantize + fp32 kernels unless outputs are
 * quantized too (see `trtpipe explain`).
 *
 *   node dist/bench/precision.js [--iterations 200]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipeline } from '../src/config/load.js';
import { executePipeline } from '../src/run/execute.js';
import { EXAMPLES, tempDir } from '../test/helpers/paths.js';
import type { RunRecord } from '../src/gen/schema/run-record.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200' } } });
const dir = tempDir('trtpipe-bench-');

async function run(example: string, precisions: string[], method = 'entropy'): Promise<RunRecord> {
  const file = path.join(dir, `${example}-${method}.yaml`);
  const ex = path.join(EXAMPLES, example);
  writeFileSync(file, `version: 1
name: ${example}
model: { path: ${ex}/model.onnx }
data:
  calibration: { npz: ${ex}/calib.npz }
  evaluation: { npz: ${ex}/eval.npz, labels: labels }
precision: { default: fp16 }
calibration: { method: ${method} }
targets: [{ name: cpu, backend: onnxruntime }]
matrix: { precision: [${precisions.join(', ')}] }
benchmark: { batch: [1, 32], warmup: 20, iterations: ${values.iterations} }
`);
  const { pipeline, diagnostics } = await loadPipeline(file);
  if (!pipeline) throw new Error(JSON.stringify(diagnostics));
  const { record } = await executePipeline(pipeline, { stateRoot: path.join(dir, 'state'), signal: new AbortController().signal, onEvent: () => {} });
  if (record.status !== 'ok') throw new Error(`${example}: ${record.status}`);
  return record;
}

const p50 = (r: RunRecord, precision: string, b: string) => r.cells.find((c) => c.precision === precision)!.latency[b]!.latency_p50_ms!;
console.log('bench/precision: ONNX Runtime CPU, p50 latency as a ratio to fp32 (same run), batch 1 / batch 32');
console.log('  example       fp32 p50 b1   fp16/fp32 b1  int8/fp32 b1   fp32 p50 b32  fp16/fp32 b32  int8/fp32 b32');
for (const example of ['digits', 'transformer', 'overflow']) {
  const r = await run(example, ['fp32', 'fp16', 'int8']);
  const row = (b: string) => [p50(r, 'fp32', b).toFixed(3) + ' ms', (p50(r, 'fp16', b) / p50(r, 'fp32', b)).toFixed(2), (p50(r, 'int8', b) / p50(r, 'fp32', b)).toFixed(2)];
  const [a1, h1, i1] = row('1');
  const [a32, h32, i32] = row('32');
  console.log(`  ${example.padEnd(12)} ${a1!.padStart(11)}   ${h1!.padStart(12)}  ${i1!.padStart(12)}   ${a32!.padStart(12)}  ${h32!.padStart(13)}  ${i32!.padStart(13)}`);
}
console.log('\ndigits CNN, int8 calibrators side by side (ONNX Runtime CPU):');
const fp32 = await run('digits', ['fp32']);
console.log(`  fp32 reference     top-1 ${(fp32.cells[0]!.accuracy.top1! * 100).toFixed(2)}%`);
for (const method of ['minmax', 'entropy', 'percentile']) {
  const r = await run('digits', ['int8'], method);
  const a = r.cells[0]!.accuracy;
  console.log(`  int8 ${method.padEnd(12)}  top-1 ${(a.top1! * 100).toFixed(2)}%  (${((a.top1! - fp32.cells[0]!.accuracy.top1!) * 100).toFixed(2)} points)  cosine ${a.cosine!.toFixed(6)}  top-1 agreement ${(a.top1_agreement! * 100).toFixed(2)}%`);
}
