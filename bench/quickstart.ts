/**
 * bench/quickstart: wall time of the quickstart run, split into runner start,
 * uploads and each stage (as seen by the orchestrator, and on the runner).
 *
 *   node dist/bench/quickstart.js [--pipeline pipelines/quickstart.yaml]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipeline } from '../src/config/load.js';
import { executePipeline } from '../src/run/execute.js';
import { ROOT, tempDir } from '../test/helpers/paths.js';

const { values } = parseArgs({ options: { pipeline: { type: 'string', default: path.join(ROOT, 'pipelines', 'quickstart.yaml') } } });
const t0 = performance.now();
const { pipeline } = await loadPipeline(values.pipeline!);
if (!pipeline) throw new Error('pipeline does not load');
const tLoad = performance.now();
const started = new Map<string, number>();
const wall = new Map<string, number>();
let uploads = 0;
let uploadBytes = 0;
let tPlanned = 0;
const { record } = await executePipeline(pipeline, {
  stateRoot: tempDir('trtpipe-bench-'),
  signal: new AbortController().signal,
  onEvent: (e) => {
    if (e.type === 'planned') tPlanned = performance.now();
    if (e.type === 'upload') {
      uploads += e.seconds;
      uploadBytes += e.bytes;
    }
    if (e.type === 'stage-start') started.set(e.node, performance.now());
    if (e.type === 'stage-done') wall.set(e.node, performance.now() - started.get(e.node)!);
  },
});
const total = performance.now() - t0;
console.log(`bench/quickstart: ${record.pipeline.name}, ${record.cells.length} cells, status ${record.status}`);
console.log(`  total wall          ${(total / 1000).toFixed(2)} s (load+validate ${(tLoad - t0).toFixed(0)} ms, plan ${(tPlanned - tLoad).toFixed(0)} ms)`);
console.log(`  runner start        ${record.timings.runnerStartSeconds.toFixed(2)} s`);
console.log(`  uploads             ${uploads.toFixed(3)} s (${(uploadBytes / 1024).toFixed(0)} KiB)`);
console.log('  stage                          wall (client)   on runner');
for (const [id, s] of Object.entries(record.stages)) {
  console.log(`  ${id.padEnd(30)} ${((wall.get(id) ?? 0) / 1000).toFixed(3).padStart(8)} s   ${(s.seconds ?? 0).toFixed(3).padStart(8)} s`);
}
