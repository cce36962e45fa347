/**
 * Latency you can trust, on recorded run records: the noise figure and the
 * noisy mark, the identical-engine self-check, timing overlaps found from
 * recorded lease timestamps, and how the reports say all of it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRuns } from '../../src/report/compare.js';
import { evaluateGates } from '../../src/report/gates.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { latencyFindings } from '../../src/report/latency-report.js';
import { renderRunMarkdown } from '../../src/report/markdown.js';
import { batchNoise, cellNoise, isNoisy } from '../../src/report/noise.js';
import { latencySelfCheck } from '../../src/report/self-check.js';
import { timingOverlaps, timingWindows } from '../../src/report/timing-windows.js';
import { runFixture } from '../helpers/fixtures.js';
import type { LeaseRecord, RunRecord } from '../../src/gen/schema/run-record.js';

const T0 = 1_800_000_000;

/** The baseline fixture (fp32-cpu, fp16-cpu) with fp16-cpu re-pointed at fp32-cpu's engine and benchmark settings. */
function sameEngine(fp16P50s: number[]): RunRecord {
  const r = runFixture('baseline');
  const a = r.stages['benchmark@fp32-cpu']!;
  const b = r.stages['benchmark@fp16-cpu']!;
  r.stages['build@fp16-cpu']!.outputs = r.stages['build@fp32-cpu']!.outputs;
  b.params = a.params;
  const batches = b.details!.batches as Record<string, Record<string, unknown>>;
  batches['32'] = (a.details!.batches as Record<string, Record<string, unknown>>)['32']!; // batch 32 measured alike
  const batch = batches['1']!;
  batch.repeat_p50_ms = fp16P50s;
  batch.latency_p50_ms = [...fp16P50s].sort((x, y) => x - y)[2];
  return r;
}

/** Benchmark details as a runner records them: timing windows, the exclusive lease, device facts. */
function measured(r: RunRecord, node: string, start: number, enforced = true): void {
  const s = r.stages[node]!;
  const lease: LeaseRecord = { device: 'cpu@vm', mode: 'exclusive', holder: node, requestedAt: start - 1, acquiredAt: start, releasedAt: start + 2, enforced, waitedFor: [] };
  s.leases = [lease];
  s.details = {
    ...s.details,
    timer: 'host perf_counter',
    threads: { intra_op: 2, inter_op: 1 },
    timing: [1, 32].map((batch, i) => ({ batch, repeat: 0, warmup_started_at: start + i, started_at: start + i + 0.2, ended_at: start + i + 0.9, iterations: 100, requested: 100, stopped_by: 'iterations', warmup_seconds: 0.2, warmup_stable: true, other_cores: 0.05 })),
    device: { name: 'cpu@vm', kind: 'cpu', before: { cpu: { model: 'AMD EPYC', logical_cores: 2, usable_cores: 2 } } },
    lease: { device: 'cpu@vm', wait_seconds: 1, waited_for: ['evaluate@fp16-cpu'], enforced },
    contention: { concurrent_stages: [], max_other_cores: 0.05 },
  };
}

function shared(r: RunRecord, node: string, from: number, to: number): void {
  r.stages[node]!.leases = [{ device: 'cpu@vm', mode: 'shared', holder: node, requestedAt: from, acquiredAt: from, releasedAt: to, enforced: true, waitedFor: [] }];
}

test('noise figure: the spread of p50 across repeats when there are repeats, else of single runs', () => {
  assert.equal(batchNoise({ cv: 0.02, repeat_cv: 0.004 }), { cv: 0.004, source: 'repeats' });
  assert.equal(batchNoise({ cv: 0.02 }), { cv: 0.02, source: 'iterations' });
  assert.is(batchNoise({ latency_p50_ms: 1 }), undefined); // a record from before noise figures
  const n = cellNoise({ '1': { cv: 0.14 }, '32': { cv: 0.03, repeat_cv: 0.02 } }, 0.1)!;
  assert.equal([n.cv, n.noisy, isNoisy(n, '1'), isNoisy(n, '32')], [0.14, true, true, false]);
  assert.is(cellNoise({ '1': { latency_p50_ms: 1 } }, 0.1), undefined);
});

test('self-check: one engine measured twice agrees within its noise, or flags the run', () => {
  // The fp32 engine's p50s at batch 1 are about 0.100 ms (repeats scatter ~3%).
  const agree = latencySelfCheck(sameEngine([0.101, 0.103, 0.099, 0.102, 0.1]));
  assert.equal(agree.groups, [['digits@fp32-cpu', 'digits@fp16-cpu']]);
  const b1 = agree.pairs.find((p) => p.batch === '1')!;
  assert.ok(b1.agree && Math.abs(b1.ratio - 1.01) < 0.005, JSON.stringify(b1));
  assert.is(agree.disagreements, 0);
  // The report: the same graph 2.5x slower on one target (another stage shared the CPU).
  const bad = latencySelfCheck(sameEngine([0.25, 0.26, 0.24, 0.25, 0.255]));
  assert.is(bad.disagreements, 1);
  assert.ok(!bad.pairs.find((p) => p.batch === '1')!.agree);
  const f = latencyFindings(sameEngine([0.25, 0.26, 0.24, 0.25, 0.255]));
  assert.match(f.lines.join('\n'), /❌ Self-check: 1 measurement\(s\) of an identical engine disagree.*digits@fp32-cpu vs digits@fp16-cpu b1: ×2\.500/);
});

test('self-check: one result served twice from the cache, other hosts or other settings are not compared', () => {
  const cached = sameEngine([0.25, 0.26, 0.24, 0.25, 0.255]);
  cached.stages['benchmark@fp16-cpu']!.key = cached.stages['benchmark@fp32-cpu']!.key;
  cached.stages['benchmark@fp16-cpu']!.cached = true;
  assert.equal(latencySelfCheck(cached).pairs, []);
  const settings = sameEngine([0.25, 0.26, 0.24, 0.25, 0.255]);
  settings.stages['benchmark@fp16-cpu']!.params = { ...settings.stages['benchmark@fp16-cpu']!.params, threads: 1 };
  assert.equal(latencySelfCheck(settings).groups, []);
  assert.equal(latencySelfCheck(runFixture('baseline')).groups, []); // different engines
});

test('timing overlaps come from recorded timestamps: a stage holding the device during a loop is named', () => {
  const r = runFixture('baseline');
  measured(r, 'benchmark@fp32-cpu', T0);
  measured(r, 'benchmark@fp16-cpu', T0 + 3);
  shared(r, 'evaluate@fp16-cpu', T0 - 5, T0 - 0.5);
  assert.is(timingWindows(r).length, 4);
  assert.equal(timingOverlaps(r), []);
  assert.match(latencyFindings(r).lines[0]!, 'Every timing loop had its device to itself: 4 loop(s) on 1 device(s)');
  shared(r, 'evaluate@fp16-cpu', T0 + 1.5, T0 + 1.6); // inside fp32-cpu's batch-32 loop
  const o = timingOverlaps(r);
  assert.equal(o.map((x) => [x.window.node, x.window.batch, x.other]), [['benchmark@fp32-cpu', 32, 'evaluate@fp16-cpu']]);
  assert.match(renderJunit(r), /<failure type="TIMING_OVERLAP" message="⚠️ 1 of 4 timing loops shared their device/);
  // A cached benchmark was measured in another run: its windows are not this run's.
  r.stages['benchmark@fp32-cpu']!.cached = true;
  assert.equal(timingOverlaps(r), []);
});

test('a latency gate on a noisy cell says the measurement was noisy', () => {
  const current = runFixture('noisy');
  for (const c of current.cells) {
    for (const [b, l] of Object.entries(c.latency)) l.repeat_cv = b === '1' ? 0.12 : 0.04;
    c.noise = cellNoise(c.latency, 0.1);
  }
  const gates = evaluateGates({ latency_p50: { regress_max: '5%' } }, current, compareRuns(runFixture('baseline'), current, 'main'));
  for (const check of gates.checks) {
    assert.ok(check.noisy, check.message);
    assert.match(check.message, 'NOISY measurement: b1 varies 12.0% (repeats), over benchmark.noise_max 10.0%');
  }
  const md = renderRunMarkdown({ ...current, gates });
  assert.match(md, /\| 1\d\d µs \(noisy\) \|/);
  assert.match(md, '⚠️ Noisy (latency varies more than benchmark.noise_max 10.0%; compare with care): digits@fp32-cpu b1 12.0%');
});

test('the reports say how each latency was measured, and what makes it doubtful', () => {
  const r = runFixture('baseline');
  measured(r, 'benchmark@fp32-cpu', T0);
  measured(r, 'benchmark@fp16-cpu', T0 + 3, false);
  (r.stages['benchmark@fp16-cpu']!.details!.contention as Record<string, unknown>).max_other_cores = 1.4;
  const md = renderRunMarkdown(r);
  assert.match(md, '## Latency: how it was measured');
  assert.match(md, '- **digits@fp16-cpu**: timed without an exclusive device (the runner ran with TRTPIPE_DEVICE_LEASE=off); other processes used 1.40 cores during timing');
  assert.not.match(md, '**digits@fp32-cpu**:');
  assert.match(md, '| digits@fp32-cpu | cpu@vm (exclusive) | AMD EPYC, 2 cores | host perf_counter | intra_op 2, inter_op 1 | 200/200 | 0.40 s | 1.0 s | 0.05 |');
  const html = renderHtml(r, { history: [] });
  assert.match(html, '<section id="measured"><h2>Latency: how it was measured</h2>');
  assert.match(html, 'timed without an exclusive device');
});

test.run();
