import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkEvaluation, describeTolerance } from '../../src/report/tolerances.js';

const perOutput = { probs: { cosine: 0.9995, max_abs: 0.02 }, boxes: { cosine: 0.99, max_abs: 0.5 } };
const aggregate = { cosine: 0.99, max_abs: 0.5, top1: 0.97 };

test('general tolerances apply to every output; evaluate.outputs replaces them for its output', () => {
  const r = checkEvaluation({ tolerances: { cosine: { min: 0.999 }, top1: { min: 0.95 } }, outputs: { boxes: { max_abs: { max: 1 } } } }, aggregate, perOutput);
  assert.equal(r.map((x) => [x.output ?? '', x.metric, x.pass]), [['', 'top1', true], ['probs', 'cosine', true], ['boxes', 'max_abs', true]]);
});

test('a miss names the output', () => {
  const r = checkEvaluation({ tolerances: { cosine: { min: 0.999 } }, outputs: {} }, aggregate, perOutput);
  const miss = r.find((x) => !x.pass)!;
  assert.is(describeTolerance(miss), "output 'boxes': cosine 0.99 (needs >= 0.999)");
});

test('without per-output metrics the worst-output aggregate is checked', () => {
  const r = checkEvaluation({ tolerances: { max_abs: { max: 0.1 } }, outputs: {} }, aggregate, undefined);
  assert.equal(r.map((x) => [x.metric, x.pass]), [['max_abs', false]]);
});

test.run();
