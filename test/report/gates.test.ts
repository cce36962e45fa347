/** Comparison and gates on recorded run records: noise must not fail a gate, a real regression must. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareRuns, topRegressions } from '../../src/report/compare.js';
import { evaluateGates, parseAllowance, type GateConfig } from '../../src/report/gates.js';
import { historyEntry } from '../../src/report/history.js';
import { runFixture } from '../helpers/fixtures.js';
import type { GateReport } from '../../src/gen/schema/run-record.js';

const GATES: GateConfig = {
  latency_p50: { regress_max: '5%' },
  latency_p99: { regress_max: '25%' },
  top1: { drop_max: 0.5 },
  cosine: { drop_max: 0.0001 },
  precision_drift: { allow: false },
  engine_size: { growth_max: '10%' },
};

function judge(current: ReturnType<typeof runFixture>, config: GateConfig = GATES, history = [] as ReturnType<typeof historyEntry>[]): GateReport {
  const base = runFixture('baseline');
  return evaluateGates(config, current, compareRuns(base, current, 'main', history));
}

const check = (r: GateReport, gate: string, cell: string) => r.checks.find((c) => c.gate === gate && c.cell === cell)!;

test('the fixtures carry what the tests say they do', () => {
  const base = runFixture('baseline');
  const noisy = runFixture('noisy');
  assert.is(base.schema, 'trtpipe.run/1');
  const p50 = (r: typeof base) => r.cells.find((c) => c.id === 'fp16-cpu')!.latency['1']!.latency_p50_ms!;
  // The noisy run's median is more than the 5% allowed above the baseline's...
  assert.ok(p50(noisy) / p50(base) - 1 > 0.05, `${p50(noisy)} vs ${p50(base)}`);
  // ...and the regressed run's is 10% above.
  assert.ok(Math.abs(p50(runFixture('regressed')) / p50(base) - 1.1) < 0.001);
});

test('noisy latencies: medians beyond the allowed 5% but inside the noise band do not fail', () => {
  const r = judge(runFixture('noisy'));
  for (const gate of ['latency_p50', 'latency_p99']) {
    for (const cell of ['fp32-cpu', 'fp16-cpu']) {
      const c = check(r, gate, cell);
      assert.is(c.status, 'pass', `${gate} ${cell}: ${c.message}`);
      assert.ok(c.batches!.every((b) => b.noise === 'repeats'));
    }
  }
  const b1 = check(r, 'latency_p50', 'fp16-cpu').batches!.find((b) => b.batch === '1')!;
  assert.ok(b1.relative > 0.05 && b1.current - b1.baseline < b1.bandMs, JSON.stringify(b1));
  assert.match(check(r, 'latency_p50', 'fp16-cpu').message, 'inside the noise band');
  assert.is(r.failed, 0);
});

test('a real 10% latency regression fails latency_p50, naming the batch sizes', () => {
  const r = judge(runFixture('regressed'));
  const c = check(r, 'latency_p50', 'fp16-cpu');
  assert.is(c.status, 'fail', c.message);
  for (const b of c.batches!) {
    assert.ok(b.fail && Math.abs(b.relative - 0.1) < 0.02 && b.bandMs < 0.1 * b.baseline, JSON.stringify(b));
  }
  assert.match(c.message, /b\d+ slower by \+10\.\d%/);
  assert.is(check(r, 'latency_p50', 'fp32-cpu').status, 'pass');
  // p99 grew by less than its 25% allowance: no failure there.
  assert.is(check(r, 'latency_p99', 'fp16-cpu').status, 'pass');
  assert.is(r.failed, 1);
});

test('a 10% regression within a 15% allowance passes', () => {
  const r = judge(runFixture('regressed'), { latency_p50: { regress_max: '15%' } });
  assert.is(r.failed, 0);
  assert.is(r.checks.length, 2);
});

test('an absolute allowance in milliseconds', () => {
  assert.equal(parseAllowance('5%'), { relative: 0.05 });
  assert.equal(parseAllowance(0.5), { absolute: 0.5 });
  // +0.012 ms at batch 1 and +0.09 ms at batch 32: 0.05 ms lets batch 1 pass, not batch 32.
  const c = check(judge(runFixture('regressed'), { latency_p50: { regress_max: 0.05 } }), 'latency_p50', 'fp16-cpu');
  assert.equal(c.batches!.map((b) => [b.batch, b.fail]), [['1', false], ['32', true]]);
});

test('run-to-run spread in the history widens the band: a 10% change on a machine that swings 15% passes', () => {
  const base = runFixture('baseline');
  const swings = [1.0, 1.15, 0.9, 1.12, 0.95, 1.08].map((f, i) => {
    const e = historyEntry(base);
    e.id = `20261128-0${i}0000-hist`;
    for (const cell of Object.values(e.cells)) for (const l of Object.values(cell.latency)) {
      l.p50 = l.p50! * f;
      l.p99 = l.p99! * f;
    }
    return e;
  });
  const noisyMachine = judge(runFixture('regressed'), GATES, swings);
  const c = check(noisyMachine, 'latency_p50', 'fp16-cpu');
  assert.is(c.status, 'pass', c.message);
  assert.ok(c.batches!.every((b) => b.noise === 'history'));
  // A quiet history (±1%) keeps the band narrow and the regression fails.
  const quiet = swings.map((e, i) => {
    const q = historyEntry(base);
    q.id = e.id;
    for (const cell of Object.values(q.cells)) for (const l of Object.values(cell.latency)) l.p50 = l.p50! * (1 + (i % 3 - 1) * 0.01);
    return q;
  });
  assert.is(check(judge(runFixture('regressed'), GATES, quiet), 'latency_p50', 'fp16-cpu').status, 'fail');
  // Fewer than three earlier runs say nothing about run-to-run noise.
  assert.is(check(judge(runFixture('regressed'), GATES, swings.slice(0, 2)), 'latency_p50', 'fp16-cpu').status, 'fail');
});

test('accuracy drop, engine growth and precision drift fail with the node named', () => {
  const r = judge(runFixture('changed'));
  assert.is(check(r, 'top1', 'fp16-cpu').status, 'fail');
  assert.match(check(r, 'top1', 'fp16-cpu').message, 'dropped 1.3 points (allowed 0.5 points)');
  assert.is(check(r, 'cosine', 'fp16-cpu').status, 'fail');
  assert.is(check(r, 'engine_size', 'fp16-cpu').status, 'fail');
  assert.match(check(r, 'engine_size', 'fp16-cpu').message, '+15.0%');
  const drift = check(r, 'precision_drift', 'fp16-cpu');
  assert.is(drift.status, 'fail');
  assert.equal(drift.nodes!.map((n) => [n.node, n.kind, n.from, n.to, n.reason]), [['/head/fc2/Gemm', 'resolved', 'fp16', 'fp32', 'POLICY_RULE']]);
  assert.match(drift.message, '/head/fc2/Gemm fp16->fp32');
  for (const gate of ['top1', 'cosine', 'engine_size', 'precision_drift', 'latency_p50', 'latency_p99']) {
    assert.is(check(r, gate, 'fp32-cpu').status, 'pass', `${gate} fp32`);
  }
  // allow: true reports the drift without failing.
  const allowed = check(judge(runFixture('changed'), { precision_drift: { allow: true } }), 'precision_drift', 'fp16-cpu');
  assert.is(allowed.status, 'pass');
  assert.match(allowed.message, '(allowed)');
});

test('realized drift: a node the backend ran wider than before is caught even when the lockfile agrees', async () => {
  const { precisionDrift } = await import('../../src/report/compare.js');
  const row = (realized: string) => ({ node: 'attn/MatMul', op: 'MatMul', requested: 'fp16', resolved: 'fp16', realized, reason: 'POLICY_DEFAULT' });
  const d = precisionDrift([row('fp16')], [{ ...row('fp32'), realizedReason: 'NO_KERNEL_ON_BACKEND' }]);
  assert.equal(d.widened, [{ node: 'attn/MatMul', op: 'MatMul', kind: 'realized', from: 'fp16', to: 'fp32', reason: 'NO_KERNEL_ON_BACKEND' }]);
  // fp16 -> bf16 is not wider, '?' (fused) has no width, fp32 -> fp16 is narrower.
  assert.equal(precisionDrift([row('fp16')], [row('bf16')]).widened, []);
  assert.equal(precisionDrift([row('fp16')], [row('?')]).widened, []);
  assert.is(precisionDrift([row('fp32')], [row('fp16')]).narrowed.length, 1);
});

test('without a baseline: accuracy gates judge against FP32, the others are skipped saying why', () => {
  const r = evaluateGates(GATES, runFixture('changed'));
  assert.is(check(r, 'top1', 'fp16-cpu').against, 'fp32-reference');
  assert.is(check(r, 'top1', 'fp16-cpu').status, 'fail');
  assert.is(check(r, 'top1', 'fp32-cpu').status, 'pass');
  assert.is(check(r, 'cosine', 'fp16-cpu').status, 'fail');
  for (const gate of ['latency_p50', 'latency_p99', 'precision_drift', 'engine_size']) {
    assert.is(check(r, gate, 'fp16-cpu').status, 'skip');
    assert.match(check(r, gate, 'fp16-cpu').message, '--baseline');
  }
  assert.is(r.baseline, undefined);
});

test('cells missing from the baseline or failed are skipped, not failed', () => {
  const cur = runFixture('regressed');
  cur.cells[1]!.id = 'fp16-gpu';
  cur.cells[0]!.status = 'failed';
  const r = judge(cur);
  assert.is(r.failed, 0);
  assert.match(check(r, 'latency_p50', 'fp16-gpu').message, 'no such cell');
  assert.match(check(r, 'latency_p50', 'fp32-cpu').message, 'did not complete');
});

test('top regressions: accuracy first, then latency outside the noise band, then size; nothing inside the band', () => {
  const base = runFixture('baseline');
  const regs = topRegressions(compareRuns(base, runFixture('regressed')));
  // p99 at batch 32 also rose 10% with tight repeats: a regression, though inside its 25% allowance.
  assert.equal(regs.map((r) => [r.cell, r.metric]), [['digits@fp16-cpu', 'p50 b1'], ['digits@fp16-cpu', 'p50 b32'], ['digits@fp16-cpu', 'p99 b32']]);
  assert.equal(topRegressions(compareRuns(base, runFixture('noisy'))), []);
  const changed = topRegressions(compareRuns(base, runFixture('changed')));
  assert.equal(changed.map((r) => r.metric), ['top-1', 'cosine', 'engine size']);
});

test.run();

test('metric gates: top1_agreement drop and error rises against the baseline; latency_p90 like p50', () => {
  const cur = runFixture('baseline');
  const cell = cur.cells.find((c) => c.id === 'fp16-cpu')!;
  const base = runFixture('baseline').cells.find((c) => c.id === 'fp16-cpu')!.accuracy;
  cell.accuracy = { ...cell.accuracy, top1_agreement: base.top1_agreement! - 0.02, max_abs: base.max_abs! * 2, mean_abs: base.mean_abs! * 1.05 };
  const r = judge(cur, {
    top1_agreement: { drop_max: 1 },
    max_abs: { rise_max: '50%' },
    mean_abs: { rise_max: '10%' },
    rel_p99: { rise_max: 0.001 },
    latency_p90: { regress_max: '5%' },
  });
  assert.is(check(r, 'top1_agreement', 'fp16-cpu').status, 'fail');
  assert.match(check(r, 'top1_agreement', 'fp16-cpu').message, 'dropped 2 points (allowed 1 points)');
  assert.is(check(r, 'max_abs', 'fp16-cpu').status, 'fail');
  assert.match(check(r, 'max_abs', 'fp16-cpu').message, 'allowed +50%');
  assert.is(check(r, 'mean_abs', 'fp16-cpu').status, 'pass');
  assert.is(check(r, 'rel_p99', 'fp16-cpu').status, 'pass');
  assert.is(check(r, 'latency_p90', 'fp16-cpu').status, 'pass');
  assert.ok(check(r, 'latency_p90', 'fp16-cpu').batches!.length > 0, 'p90 compared per batch');
});
