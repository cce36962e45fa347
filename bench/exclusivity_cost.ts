/**
 * bench/exclusivity_cost: what exclusive timing costs in wall time on the
 * shipped pipelines. Each pipeline runs cold (--no-cache), alternating runners
 * with device leases off (TRTPIPE_DEVICE_LEASE=off: benchmarks overlap other
 * stages, as before leases) and on, side by side; prints the median wall time
 * of each, and how many timing loops another stage overlapped without leases.
 *
 *   node dist/bench/exclusivity_cost.js [--rounds 2] [--before OLD_CHECKOUT] [pipelines/x.yaml ...]
 *
 * Default: every pipeline in pipelines/ that runs on a CPU (not digits-torch).
 * --before compares another built checkout of trtpipe (its bin/trtpipe.js, e.g. the commit
 * before device leases) with this one instead of leases off/on: the whole change, new timing
 * protocol included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { timingOverlaps, timingWindows } from '../src/report/timing-windows.js';
import { runCli } from '../test/helpers/cli.js';
import { ROOT, tempDir } from '../test/helpers/paths.js';
import type { RunRecord } from '../src/gen/schema/run-record.js';

const { values, positionals } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, before: { type: 'string' } }, allowPositionals: true });
const before = values.before ? path.resolve(values.before, 'bin', 'trtpipe.js') : undefined;
const pipelines = positionals.length
  ? positionals.map((p) => path.resolve(p))
  : readdirSync(path.join(ROOT, 'pipelines')).filter((f) => f.endsWith('.yaml') && !f.includes('torch')).sort().map((f) => path.join(ROOT, 'pipelines', f));
const dir = tempDir('trtpipe-exclusivity-');

async function once(file: string, mode: 'on' | 'off', n: number): Promise<{ seconds: number; overlaps: number; loops: number }> {
  const state = path.join(dir, `${path.basename(file, '.yaml')}-${mode}-${n}`);
  const t0 = performance.now();
  const r = before && mode === 'off'
    ? await runCli(['run', file, '--state-dir', state, '--no-cache'], { cli: before })
    : await runCli(['run', file, '--state-dir', state, '--no-cache'], { env: { TRTPIPE_DEVICE_LEASE: mode } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0 && r.code !== 4) throw new Error(`${path.basename(file)} (leases ${mode}) exited ${r.code}:\n${r.stdout}${r.stderr}`);
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  const record = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
  // Records from before leases have neither timing windows nor leases: nothing to count.
  return { seconds, overlaps: new Set(timingOverlaps(record).map((x) => x.window)).size, loops: timingWindows(record).length };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(`bench/exclusivity_cost: ${values.rounds} round(s) per pipeline, ${before ? `${values.before} vs this checkout` : 'leases off/on'} alternating, --no-cache`);
console.log(`pipeline                     cells  ${before ? 'before' : '   off'} (s)  ${before ? 'after' : '   on'} (s)   cost    timing loops overlapped ${before ? 'before' : 'without leases'}`);
for (const file of pipelines) {
  const off: number[] = [];
  const on: number[] = [];
  let overlapped = 0;
  let loops = 0;
  for (let i = 0; i < Number(values.rounds); i++) {
    // Alternate which goes first, so a machine that gets busier does not favour one side.
    for (const mode of (i % 2 ? ['on', 'off'] : ['off', 'on']) as ('on' | 'off')[]) {
      const r = await once(file, mode, i);
      (mode === 'on' ? on : off).push(r.seconds);
      if (mode === 'off') { overlapped += r.overlaps; loops += r.loops; }
    }
  }
  const cells = Number(/(\d+) cells?,/.exec((await runCli(['plan', file])).stdout)?.[1] ?? 0);
  const cost = median(on) / median(off) - 1;
  console.log(`${path.basename(file).padEnd(28)} ${String(cells).padStart(5)}  ${median(off).toFixed(1).padStart(7)}  ${median(on).toFixed(1).padStart(7)}  ${`${cost >= 0 ? '+' : ''}${(cost * 100).toFixed(0)}%`.padStart(5)}   ${overlapped}/${loops}`);
}
