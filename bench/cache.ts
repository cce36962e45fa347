/**
 * bench/cache: the no-op path, as a user runs it (the CLI, a new process each time):
 *   1. a fully cached re-run of the quickstart against a bare `node -e 0` start (goal: at most 4x);
 *   2. a fully cached re-run of a 10-cell digits matrix against its cold `--no-cache` run (goal: at
 *      most 5%).
 * Every figure is a median (re-runs and `node -e 0` of 5, `--no-cache` runs of 3).
 *
 *   node dist/bench/cache.js [--runs 5]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, EXAMPLES, ROOT, tempDir } from '../test/helpers/paths.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

function wall(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'pipe', env: { ...process.env, CI: '1' } });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

function median(n: number, f: () => number): number {
  const xs = Array.from({ length: n }, f).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

const trtpipe = (...args: string[]) => wall([CLI, ...args]);
const dir = tempDir('trtpipe-bench-');
// 5 precisions x 2 emulated CPU targets = 10 cells: every stage kind, every precision path.
const matrix = path.join(dir, 'digits-matrix.yaml');
writeFileSync(
  matrix,
  `version: 1
name: digits-matrix
model: { path: ${EXAMPLES}/digits/model.onnx }
data:
  calibration: { npz: ${EXAMPLES}/digits/calib.npz }
  evaluation: { npz: ${EXAMPLES}/digits/eval.npz, labels: labels }
precision: { default: fp16, opset: 22 }
targets:
  - { name: emulated, backend: onnxruntime, numerics: emulated }
  - { name: emulated-basic, backend: onnxruntime, numerics: emulated, build: { opt_level: basic } }
matrix: { precision: [fp32, fp16, bf16, int8, fp8] }
benchmark: { batch: [1, 32], iterations: 50 }
`,
);

console.log(`bench/cache: the no-op path (CLI wall time, ${os.cpus().length} CPU cores; medians)`);
const node = median(runs, () => wall(['-e', '0']));
console.log(`  node -e 0                          ${node.toFixed(3)} s`);

const quickstart = path.join(ROOT, 'pipelines', 'quickstart.yaml');
const qsState = path.join(dir, 'quickstart');
trtpipe('run', quickstart, '--state-dir', qsState);
const qsRerun = median(runs, () => trtpipe('run', quickstart, '--state-dir', qsState));
console.log(`  quickstart, cached re-run          ${qsRerun.toFixed(3)} s = ${(qsRerun / node).toFixed(1)}x node -e 0 (goal <= 4x)`);

const mxState = path.join(dir, 'matrix');
trtpipe('run', matrix, '--state-dir', mxState);
const cold = median(Math.max(1, Math.ceil(runs / 2)), () => trtpipe('run', matrix, '--state-dir', mxState, '--no-cache'));
const mxRerun = median(runs, () => trtpipe('run', matrix, '--state-dir', mxState));
console.log(
  `  digits matrix (10 cells), cold --no-cache ${cold.toFixed(3)} s, cached re-run ${mxRerun.toFixed(3)} s = ${((100 * mxRerun) / cold).toFixed(1)}% (goal <= 5%)`,
);
