/** The statistics behind the latency noise band. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareLatency, estimateLatency, mad, median, normalQuantile, quantileSeFactor, runToRunSigma, stdev } from '../../src/report/noise.js';

const close = (a: number, b: number, tol: number) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('median, MAD and standard deviation', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.is(mad([1, 2, 3, 4, 100]), 1);
  close(stdev([2, 4, 4, 4, 5, 5, 7, 9]), 2.138, 0.001);
  assert.is(stdev([5]), 0);
});

test('normal quantiles and the standard error factor of a quantile', () => {
  close(normalQuantile(0.5), 0, 1e-9);
  close(normalQuantile(0.975), 1.959964, 1e-6);
  close(normalQuantile(0.01), -2.326348, 1e-6);
  close(quantileSeFactor(0.5), Math.sqrt(Math.PI / 2), 1e-6); // 1.2533
  close(quantileSeFactor(0.99), 3.733, 0.001);
  assert.throws(() => normalQuantile(1));
});

test('estimates: repeats beat a single run, and a single run still has a within-run band', () => {
  const rep = estimateLatency({ value: 1, repeats: [1, 1.1, 0.9, 1.05, 0.95], madMs: 0.01, iterations: 500 }, 0.5);
  assert.is(rep.source, 'repeats');
  assert.is(rep.center, 1);
  close(rep.se, (1.2533 * stdev([1, 1.1, 0.9, 1.05, 0.95])) / Math.sqrt(5), 1e-4);
  const one = estimateLatency({ value: 2, madMs: 0.1, iterations: 100 }, 0.5);
  assert.is(one.source, 'within-run');
  close(one.se, (1.2533 * 1.4826 * 0.1) / 10, 1e-4);
  assert.is(estimateLatency({ value: 2 }, 0.5).source, 'none');
});

test('history: at least three earlier runs, and its spread sets the band when it is the larger', () => {
  assert.is(runToRunSigma([1, 2]), undefined);
  const tight = { value: 1, repeats: [1, 1.001, 0.999], iterations: 300, madMs: 0.001 };
  const later = { ...tight, value: 1.2, repeats: [1.2, 1.201, 1.199] };
  const alone = compareLatency(tight, later, 0.5);
  assert.ok(alone.significant && alone.bandSource === 'repeats');
  const swinging = compareLatency(tight, later, 0.5, [1, 1.3, 0.8, 1.25, 0.9]);
  assert.is(swinging.bandSource, 'history');
  assert.not.ok(swinging.significant);
  close(swinging.band, 3 * Math.SQRT2 * stdev([1, 1.3, 0.8, 1.25, 0.9]), 1e-9);
});

test.run();
