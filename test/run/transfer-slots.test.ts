/**
 * The mover's streams per runner: never more than its slots at once, a TOO_MANY_TRANSFERS refusal
 * (the runner's cap, shared with other runs from this host) retried, any other error not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RunnerCallError, status } from '../../src/runner-client/runner-call-error.js';
import { TransferSlots } from '../../src/run/transfer-slots.js';

const busy = () =>
  new RunnerCallError('PutArtifact', status.RESOURCE_EXHAUSTED, 'too many transfers', {
    kind: 2,
    code: 'TOO_MANY_TRANSFERS',
    message: '',
    node: '',
    traceback: '',
  } as never);
const noPause = () => Promise.resolve();

test('at most the slots of one runner are open at once; another runner has its own', async () => {
  const slots = new TransferSlots(2, noPause);
  const open = new Map<string, number>();
  const peak = new Map<string, number>();
  const transfer = (runner: string) => async () => {
    open.set(runner, (open.get(runner) ?? 0) + 1);
    peak.set(runner, Math.max(peak.get(runner) ?? 0, open.get(runner)!));
    await new Promise((r) => setTimeout(r, 5));
    open.set(runner, open.get(runner)! - 1);
    return runner;
  };
  const done = await Promise.all([...Array(7)].flatMap(() => ['a:1', 'b:1'].map((r) => slots.run(r, transfer(r)))));
  assert.is(done.length, 14);
  assert.equal(Object.fromEntries(peak), { 'a:1': 2, 'b:1': 2 });
});

test('a busy runner is asked again after a pause; the slot is held meanwhile', async () => {
  const pauses: number[] = [];
  const slots = new TransferSlots(1, (ms) => (pauses.push(ms), Promise.resolve()));
  let calls = 0;
  const got = await slots.run('a:1', async () => {
    if (++calls < 4) throw busy();
    return 'sent';
  });
  assert.is(got, 'sent');
  assert.equal(pauses, [100, 200, 400]);
});

test('other errors are not retried, and free the slot', async () => {
  const slots = new TransferSlots(1, noPause);
  let calls = 0;
  const broken = new RunnerCallError('PutArtifact', status.INTERNAL, 'disk full');
  await slots
    .run('a:1', async () => (calls++, Promise.reject(broken)))
    .then(
      () => assert.unreachable('should fail'),
      (err) => assert.is(err, broken),
    );
  assert.is(calls, 1);
  assert.is(await slots.run('a:1', async () => 'next'), 'next'); // the slot came back
});

test('a runner busy for over a minute: the refusal reaches the caller', async () => {
  const slots = new TransferSlots(1, noPause);
  let calls = 0;
  await slots
    .run('a:1', async () => (calls++, Promise.reject(busy())))
    .then(
      () => assert.unreachable('should fail'),
      (err) => assert.ok((err as RunnerCallError).isBusy),
    );
  assert.is(calls, 11); // pauses of 100 ms doubling: 102.3 s > 60 s after the 10th
});

test.run();
