/**
 * bench/latency_consistency: the same fp32 graph on two targets of the same
 * runner in one run (identical settings, so the identical engine), measured
 * through the real CLI several times. With exclusive timing the two p50s agree:
 * the ratio b/a stays near 1 (goal: within 1.05) at every batch size. Prints
 * per run the p50s, their ratio, both cells' noise figures, the CPU other
 * processes used meanwhile and the self-check verdict.
 *
 *   node dist/bench/latency_consistency.js [--backend onnxruntime|torch] [--runs 5]
 *       [--batch 1,32] [--iterations 100] [--repeats 3] [--model M.onnx --data EVAL.npz]
 *       [--pipeline P.yaml] [--leases on|off]
 *
 * Without --model, an fp32 MLP (8 x Gemm 1024, bench/make_mlp.py) is generated
 * with the runner's Python. --pipeline runs a pipeline of your own instead and
 * compares every pair of its cells with the same precision (give it two
 * targets that differ only in name); --leases off runs the runners with
 * TRTPIPE_DEVICE_LEASE=off, to see what exclusivity buys.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { latencyProvenance } from '../src/report/latency-provenance.js';
import { latencySelfCheck } from '../src/report/self-check.js';
import { timingOverlaps } from '../src/report/timing-windows.js';
import { resolvePython } from '../src/runner-client/local-runner.js';
import { runCli } from '../test/helpers/cli.js';
import { ROOT, tempDir } from '../test/helpers/paths.js';
import type { RunRecord } from '../src/gen/schema/run-record.js';

const { values: o } = parseArgs({
  options: {
    backend: { type: 'string', default: 'onnxruntime' },
    runs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '1,32' },
    iterations: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '3' },
    model: { type: 'string' },
    data: { type: 'string' },
    pipeline: { type: 'string' },
    leases: { type: 'string', default: 'on' },
  },
});
const dir = tempDir('trtpipe-latency-');
const pipeline = o.pipeline ? path.resolve(o.pipeline) : writePipeline();
const env = o.leases === 'off' ? { TRTPIPE_DEVICE_LEASE: 'off' } : {};
console.log(`bench/latency_consistency: ${o.pipeline ?? `${o.backend}, ${o.model ?? 'fp32 MLP 8 x Gemm 1024'}`}; ${o.runs} runs, leases ${o.leases}`);
console.log('run  pair                                   batch   p50 a       p50 b       b/a     noise a  noise b  others (cores)  self-check');
const ratios = new Map<string, number[]>();
const p50s = new Map<string, number[][]>();
for (let run = 1; run <= Number(o.runs); run++) {
  const state = path.join(dir, `state-${run}`);
  const r = await runCli(['run', pipeline, '--state-dir', state, '--no-cache'], { env });
  if (r.code !== 0) throw new Error(`trtpipe run exited ${r.code}:\n${r.stdout}${r.stderr}`);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const record = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  const overlaps = timingOverlaps(record).length;
  for (const p of latencySelfCheck(record).pairs) {
    const a = record.cells.find((c) => c.name === p.a)!;
    const b = record.cells.find((c) => c.name === p.b)!;
    const noise = (c: typeof a) => { const n = c.noise?.batches[p.batch]; return n ? `${(n.cv * 100).toFixed(1)}%` : '–'; };
    const others = [a, b].map((c) => latencyProvenance(record, c)?.otherCores?.toFixed(2) ?? '–').join('/');
    ratios.set(p.batch, [...(ratios.get(p.batch) ?? []), p.ratio]);
    p50s.set(p.batch, [...(p50s.get(p.batch) ?? []), [p.p50a, p.p50b]]);
    console.log(`${String(run).padEnd(4)} ${`${a.id} / ${b.id}`.padEnd(38)} ${p.batch.padStart(5)}   ${fmtMs(p.p50a)}  ${fmtMs(p.p50b)}  ${p.ratio.toFixed(3).padStart(6)}  ${noise(a).padStart(7)}  ${noise(b).padStart(7)}  ${others.padStart(14)}  ${p.agree ? 'agree' : 'DISAGREE'}${overlaps ? ` (${overlaps} timing overlaps)` : ''}`);
  }
}
for (const [batch, rs] of [...ratios].sort((x, y) => Number(x[0]) - Number(y[0]))) {
  const worst = rs.reduce((w, r) => (Math.abs(Math.log(r)) > Math.abs(Math.log(w)) ? r : w), 1);
  const within = rs.filter((r) => r <= 1.05 && r >= 1 / 1.05).length;
  const [a, b] = [0, 1].map((i) => median(p50s.get(batch)!.map((x) => x[i]!)));
  console.log(`batch ${batch}: ratio b/a median ${median(rs).toFixed(3)}, worst ${worst.toFixed(3)}, ${within}/${rs.length} within 1.05; median p50 a ${fmtMs(a!).trim()}, b ${fmtMs(b!).trim()}`);
}

function writePipeline(): string {
  let model = o.model ? path.resolve(o.model) : '';
  let data = o.data ? path.resolve(o.data) : '';
  if (!model) {
    execFileSync(resolvePython(), [path.join(ROOT, 'bench', 'make_mlp.py'), dir], { stdio: 'inherit' });
    model = path.join(dir, 'model.onnx');
    data = path.join(dir, 'eval.npz');
  }
  if (!data) throw new Error('--model needs --data (an .npz keyed by the model input names)');
  const file = path.join(dir, 'consistency.yaml');
  writeFileSync(file, `version: 1
name: latency-consistency
model: { path: ${model} }
data:
  evaluation: { npz: ${data} }
targets:
  - { name: a, runner: local, backend: ${o.backend} }
  - { name: b, runner: local, backend: ${o.backend} }
matrix: { precision: [fp32] }
benchmark: { batch: [${o.batch}], iterations: ${o.iterations}, repeats: ${o.repeats} }
`);
  return file;
}

function fmtMs(v: number): string {
  return `${v.toFixed(v < 1 ? 4 : 2)} ms`.padStart(10);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
