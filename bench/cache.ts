/**
 * bench/cache: a cold run vs. a no-op re-run (everything cached) of the
 * quickstart and of a 3x2 matrix, as a user runs them: the CLI, a new
 * process each time. Re-run figures are the median of 5.
 *
 *   node dist/bench/cache.js
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, EXAMPLES, ROOT, tempDir } from '../test/helpers/paths.js';

function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'pipe', env: { ...process.env, CI: '1' } });
  if (r.status !== 0) throw new Error(`trtpipe ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const dir = tempDir('trtpipe-bench-');
const matrix = path.join(dir, 'matrix.yaml');
writeFileSync(matrix, `version: 1
name: matrix
model: { path: ${EXAMPLES}/digits/model.onnx }
data:
  calibration: { npz: ${EXAMPLES}/digits/calib.npz }
  evaluation: { npz: ${EXAMPLES}/digits/eval.npz, labels: labels }
targets:
  - { name: cpu, backend: onnxruntime }
  - { name: cpu-emulated, backend: onnxruntime, numerics: emulated }
matrix: { precision: [fp32, fp16, int8] }
benchmark: { batch: [1, 32], iterations: 100 }
`);
console.log('bench/cache: cold run vs no-op re-run (CLI wall time, 2-core machine)');
for (const [label, file] of [['quickstart (2 cells)', path.join(ROOT, 'pipelines', 'quickstart.yaml')], ['3x2 matrix (6 cells)', matrix]] as const) {
  const state = path.join(dir, label.split(' ')[0]!);
  const cold = wall(['run', file, '--state-dir', state]);
  const reruns = [0, 1, 2, 3, 4].map(() => wall(['run', file, '--state-dir', state])).sort((a, b) => a - b);
  const rerun = reruns[2]!;
  console.log(`  ${label.padEnd(22)} cold ${cold.toFixed(2)} s   re-run ${rerun.toFixed(2)} s (median of 5; ${(100 * rerun / cold).toFixed(0)}% of cold)`);
}
const version = (() => { const t0 = performance.now(); spawnSync(process.execPath, [CLI, '--version']); return (performance.now() - t0) / 1000; })();
console.log(`  floor: \`trtpipe --version\` ${version.toFixed(2)} s`);
