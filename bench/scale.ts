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
 * Before each measured run the same runners run the same matrix on the digits
 * model (`--warmup`): a pool's runners are warm when a pipeline comes (stage
 * modules imported, first sessions made), while the transformer's artifacts
 * still have to travel to them in the measured run.
 *
 * The overhead per stage splits into the RunStage call beyond the runner's own
 * stage time (one round trip) and the handling of its result until stage-done;
 * moving a stage's inputs to its runner comes before stage-start and is shown
 * apart ("inputs").
 *
 *   node dist/bench/scale.js [--runners 1,2,4] [--warmup 1]
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipeline } from '../src/config/load.js';
import type { Pipeline } from '../src/config/types.js';
import { executePipeline } from '../src/run/execute.js';
import { parseNodeId } from '../src/plan/node-id.js';
import { threadBudget } from '../src/run/local-gpus.js';
import { RunnerClient } from '../src/runner-client/runner-client.js';
import { EXAMPLES, tempDir } from '../test/helpers/paths.js';
import { POOL_TOKEN, startRunners, stopRunners } from '../test/helpers/runners.js';

const { values } = parseArgs({ options: { runners: { type: 'string', default: '1,2,4' }, warmup: { type: 'string', default: '1' } } });
const warmups = Number(values.warmup);
if (!Number.isInteger(warmups) || warmups < 0) throw new Error(`--warmup: a whole number of runs, not '${values.warmup}'`);
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
  const pipelineFile = async (model: string, labels: string): Promise<Pipeline> => {
    const file = path.join(dir, `scale-${n}-${path.basename(model)}.yaml`);
    // 4 targets on the same pool x 3 precisions = 12 cells.
    writeFileSync(
      file,
      `version: 1
name: scale
model: { path: ${model}/model.onnx }
data:
  calibration: { npz: ${model}/calib.npz }
  evaluation: { npz: ${model}/eval.npz${labels} }
targets:
${['a', 'b', 'c', 'd'].map((t) => `  - { name: ${t}, runner: [${pool}], token_env: POOL_TOKEN }`).join('\n')}
matrix: { precision: [fp32, fp16, int8] }
`,
    );
    const { pipeline, diagnostics } = await loadPipeline(file);
    if (!pipeline) throw new Error(`scale ${n}: ${file}: ${diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
    return pipeline;
  };
  for (let w = 0; w < warmups; w++) {
    const { record } = await executePipeline(await pipelineFile(path.join(EXAMPLES, 'digits'), ', labels: labels'), {
      stateRoot: path.join(dir, `warmup-${n}-${w}`),
      useCache: false,
      only: (node) => node.stage !== 'benchmark',
      signal: new AbortController().signal,
      onEvent: () => {},
    });
    if (record.status !== 'ok') throw new Error(`scale ${n}: warm-up run ${record.status}`);
  }
  const pipeline = await pipelineFile(path.join(EXAMPLES, 'transformer'), ', labels: labels');
  const started = new Map<string, number>();
  const returned = new Map<string, number>();
  const overhead: number[] = [];
  // Its parts, per stage: the RunStage call beyond the runner's own stage time, the result's
  // handling until stage-done, and (before stage-start, not in the overhead) moving the inputs.
  const call: number[] = [];
  const after: number[] = [];
  const inputs: number[] = [];
  // The runners' own stage seconds, by stage kind: when their sum grows with the runner count, the
  // stages are contending for the host (cores, memory bandwidth), and no scheduler can scale them.
  const work = new Map<string, number>();
  const t0 = performance.now();
  const { record } = await executePipeline(pipeline, {
    stateRoot: path.join(dir, `state-${n}`),
    useCache: false,
    only: (node) => node.stage !== 'benchmark',
    signal: new AbortController().signal,
    onEvent: (e) => {
      if (e.type === 'stage-start') {
        started.set(e.node, performance.now());
        inputs.push(e.inputSeconds);
      }
      if (e.type === 'stage-returned') returned.set(e.node, performance.now());
      if (e.type === 'stage-done') {
        const now = performance.now();
        overhead.push((now - started.get(e.node)!) / 1000 - e.result.seconds);
        call.push((returned.get(e.node)! - started.get(e.node)!) / 1000 - e.result.seconds);
        after.push((now - returned.get(e.node)!) / 1000);
        const kind = parseNodeId(e.node).name;
        work.set(kind, (work.get(kind) ?? 0) + e.result.seconds);
      }
    },
  });
  const secs = (performance.now() - t0) / 1000;
  await stopRunners(rs);
  if (record.status !== 'ok') throw new Error(`scale ${n}: ${record.status}`);
  if (!base) base = secs; // speed-up against the first count given
  const ms = (xs: number[], q: number) => (xs.sort((a, b) => a - b)[Math.floor(xs.length * q)]! * 1000).toFixed(1);
  rows.push(
    `  ${String(n).padStart(2)} runner(s) x ${String(threads ?? cores).padStart(2)} threads  ${secs.toFixed(2).padStart(6)} s   speed-up ${(base / secs).toFixed(2)}x   overhead per stage: median ${ms(overhead, 0.5)} ms, p90 ${ms(overhead, 0.9)} ms (${overhead.length} stages; medians: call ${ms(call, 0.5)} ms, result ${ms(after, 0.5)} ms; inputs before start ${ms(inputs, 0.5)} ms)`,
  );
  const total = [...work.values()].reduce((a, b) => a + b, 0);
  rows.push(
    `       runners' own stage time ${total.toFixed(2)} s: ${[...work].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; connecting to the runners ${record.timings.runnerStartSeconds.toFixed(2)} s of the wall`,
  );
}
console.log(
  `bench/scale: 12 cells (transformer, 4 targets x fp32/fp16/int8; build and evaluate, no benchmark) on one pool of loopback runners, ${cores} CPU cores split between them; ${warmups} warm-up run(s) on the digits model first`,
);
for (const r of rows) console.log(r);
