/**
 * Exclusive timing with real runners: a 4-cell matrix on two runner processes
 * of one host (the spawned local runner and a loopback "remote" one), while a
 * third process holds the CPU's lease. From the timestamps the runners
 * recorded: no stage of the run held the CPU while any benchmark's timing
 * loop ran, each loop lies inside its benchmark's exclusive lease, and the
 * wait for the outside holder shows in --verbose progress and in run.json.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timingOverlaps, timingWindows } from '../../src/report/timing-windows.js';
import { leaseWait } from '../../src/run/leases.js';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { holdCpuShared } from '../helpers/lease-holder.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';
import { POOL_TOKEN, startRunners, stopRunners } from '../helpers/runners.js';

test('no stage holds a device while a benchmark times on it (4 cells, two runner processes)', async () => {
  const dir = tempDir();
  const leaseDir = tempDir('trtpipe-leases-');
  const saved = process.env.TRTPIPE_LEASE_DIR;
  process.env.TRTPIPE_LEASE_DIR = leaseDir; // the loopback runner, the local one and the holder share it
  const [remote] = await startRunners(1);
  if (saved === undefined) delete process.env.TRTPIPE_LEASE_DIR;
  else process.env.TRTPIPE_LEASE_DIR = saved;
  const holder = await holdCpuShared(leaseDir);
  try {
    const file = path.join(dir, 'exclusive.yaml');
    writeFileSync(file, `version: 1
name: exclusive
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
targets:
  - { name: here, runner: local }
  - { name: there, runner: "grpc://${remote!.address}", token_env: POOL_TOKEN, numerics: emulated }
matrix: { precision: [fp32, fp16] }
benchmark: { batch: [1, 8], iterations: 300, warmup_seconds: 0.1 }
`);
    const state = path.join(dir, 'state');
    const r = await runCli(['run', file, '--state-dir', state, '--verbose'], { env: { POOL_TOKEN, TRTPIPE_LEASE_DIR: leaseDir } });
    assert.is(r.code, 0, r.stdout + r.stderr);
    await holder.released;
    const id = readdirSync(path.join(state, 'runs'))[0]!;
    const record = JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;

    const windows = timingWindows(record);
    assert.is(new Set(windows.map((w) => w.node)).size, 4, 'four benchmarks measured in this run');
    assert.is(windows.length, 8, 'two batch sizes each');
    assert.ok(windows.every((w) => w.enforced && w.device.startsWith('cpu@')));
    assert.equal(timingOverlaps(record), [], 'another stage held the CPU during a timing loop');
    for (const w of windows) {
      const own = record.stages[w.node]!.leases!.find((l) => l.mode === 'exclusive')!;
      assert.ok(own.acquiredAt <= w.start && w.end <= own.releasedAt, `${w.node}: timing outside its exclusive lease`);
    }
    // Every stage that ran held the CPU; both runner processes took part.
    const ran = Object.values(record.stages).filter((s) => s.status === 'done' && !s.cached);
    assert.ok(ran.every((s) => s.leases?.some((l) => l.device.startsWith('cpu@'))));
    assert.equal(new Set(ran.map((s) => s.runner)).size, 2);
    // The outside holder made the first benchmark wait, visibly.
    assert.match(r.stdout, /benchmark@\S+\s+waiting for exclusive device cpu@/);
    const waits = ran.flatMap((s) => s.leases ?? []).filter((l) => l.mode === 'exclusive').map(leaseWait);
    assert.ok(Math.max(...waits) >= 0.25, `longest exclusive wait ${Math.max(...waits)} s`);
  } finally {
    holder.stop();
    await stopRunners([remote!]);
  }
});

test.run();
