/**
 * bench/scale: a 12-cell matrix over 1, 2 and 4 loopback runners (one pool),
 * wall time and speed-up, and the scheduler's overhead per stage (client-side
 * wall minus the runner's own stage time). Cache off, so every stage runs.
 *
 * It measures the scheduler, not CPU contention: the host's cores are split
 * between the runners (their thread budget, run/local-gpus.ts), and the
 * runners see no GPU (CPU stages only), and the
 * matrix has no benchmark stages, because a CPU benchmark holds the host's
 * cores exclusively (device leases) and so never runs beside another stage.
 *
 *   node dist/bench/scale.js [--runners 1,2,4]
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipeline } from '../src/config/load.js';
import { executePipeline } from '../src/run/execute.js';
import { parseNodeId } from '../src/plan/node-id.js';
import { threadBudget } from '../src/run/local-gpus.js';
import { RunnerClient } from '../src/runner-client/runner-client.js';
import { EXAMPLES, tempDir } from '../test/helpers/paths.js';
import { POOL_TOKEN, startRunners, stopRunners } from '../test/helpers/runners.js';

const { values } = parseArgs({ options: { runners: { type: 'string', default: '1,2,4' } } });
const dir = tempDir('trtpipe-bench-');
process.env.POOL_TOKEN = POOL_TOKEN;
const rows: string[] = [];
let base = 0;
const cores = os.availableParallelism();
for (const n of values.runners.split(',').map(Number)) {
  const threads = threadBudget(n, cores);
  // No GPU for these runners: on a GPU host the calibrate and ranges stages would otherwise run on
  // the GPU (torch), and every runner would pay for its own CUDA context on the one device: measured
  // on the H200 host, that made 4 runners 2.7x slower than 1, which says nothing about the scheduler.
  const rs = await startRunners(n, { ...(threads ? { threads } : {}), cudaVisibleDevices: '' });
  // Runners of a pool are up before a pipeline comes: wait for each to have probed its backends
  // (seconds: importing torch), so the figures are the scheduler's and not the runners' start.
  await Promise.all(
    rs.map(async (r) => {
      const client = new RunnerClient(r.address, { token: POOL_TOKEN });
      await client.getCapabilities({ timeoutMs: 120_000 });
      client.close();
    }),
  );
  const pool = rs.map((r) => `"grpc://${r.address}"`).join(', ');
  const file = path.join(dir, `scale-${n}.yaml`);
  // 4 targets on the same pool x 3 precisions = 12 cells.
  writeFileSync(file, `version: 1
name: scale
model: { path: ${EXAMPLES}/transformer/model.onnx }
data:
  calibration: { npz: ${EXAMPLES}/transformer/calib.npz }
  evaluation: { npz: ${EXAMPLES}/transformer/eval.npz, labels: labels }
targets:
${['a', 'b', 'c', 'd'].map((t) => `  - { name: ${t}, runner: [${pool}], token_env: POOL_TOKEN }`).join('\n')}
matrix: { precision: [fp32, fp16, int8] }
`);
  const { pipeline, diagnostics } = await loadPipeline(file);
  if (!pipeline) throw new Error(`scale ${n}: ${file}: ${diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
  const started = new Map<string, number>();
  const overhead: number[] = [];
  // The runners' own stage seconds, by stage kind: when their sum grows with the runner count, the
  // stages are contending for the host (cores, memory bandwidth), and no scheduler can scale them.
  const work = new Map<string, number>();
  const t0 = performance.now();
  const { record } = await executePipeline(pipeline!, {
    stateRoot: path.join(dir, `state-${n}`),
    useCache: false,
    only: (node) => node.stage !== 'benchmark',
    signal: new AbortController().signal,
    onEvent: (e) => {
      if (e.type === 'stage-start') started.set(e.node, performance.now());
      if (e.type === 'stage-done') {
        overhead.push((performance.now() - started.get(e.node)!) / 1000 - e.result.seconds);
        const kind = parseNodeId(e.node).name;
        work.set(kind, (work.get(kind) ?? 0) + e.result.seconds);
      }
    },
  });
  const secs = (performance.now() - t0) / 1000;
  await stopRunners(rs);
  if (record.status !== 'ok') throw new Error(`scale ${n}: ${record.status}`);
  if (!base) base = secs; // speed-up against the first count given
  overhead.sort((a, b) => a - b);
  rows.push(`  ${String(n).padStart(2)} runner(s) x ${String(threads ?? cores).padStart(2)} threads  ${secs.toFixed(2).padStart(6)} s   speed-up ${(base / secs).toFixed(2)}x   overhead per stage: median ${(overhead[Math.floor(overhead.length / 2)]! * 1000).toFixed(1)} ms, p90 ${(overhead[Math.floor(overhead.length * 0.9)]! * 1000).toFixed(1)} ms (${overhead.length} stages)`);
  const total = [...work.values()].reduce((a, b) => a + b, 0);
  rows.push(`       runners' own stage time ${total.toFixed(2)} s: ${[...work].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; connecting to the runners ${record.timings.runnerStartSeconds.toFixed(2)} s of the wall`);
}
console.log(`bench/scale: 12 cells (transformer, 4 targets x fp32/fp16/int8; build and evaluate, no benchmark) on one pool of loopback runners, ${cores} CPU cores split between them`);
for (const r of rows) console.log(r);
