import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffLock, formatLockfile, lockPath } from '../../src/store/lockfile.js';
import type { LockRow, Lockfile } from '../../src/gen/schema/lock-file.js';

const rows: LockRow[] = [
  { node: '/a/Conv', op: 'Conv', requested: 'fp16', resolved: 'fp16', reason: 'POLICY_DEFAULT' },
  { node: '/b/Softmax', op: 'Softmax', requested: 'fp32', resolved: 'fp32', reason: 'POLICY_RULE', rule: 0, detail: 'why' },
];

test('lockfile text is stable: sorted precisions, one node per line', () => {
  const lock: Lockfile = { schema: 'trtpipe.lock/1', pipeline: 'p', model: { path: 'm.onnx', sha256: 'a'.repeat(64) }, precisions: { int8: { nodes: rows }, fp16: { nodes: rows } } };
  const text = formatLockfile(lock);
  assert.ok(text.indexOf('"fp16"') < text.indexOf('"int8"'));
  assert.match(text, '        {"node":"/a/Conv","op":"Conv","requested":"fp16","resolved":"fp16","reason":"POLICY_DEFAULT"},\n');
  assert.equal(JSON.parse(text), JSON.parse(JSON.stringify(lock)));
  assert.is(formatLockfile(JSON.parse(text) as Lockfile), text, 'round trip is byte-identical');
});

test('diff names moved, new and gone nodes; detail text alone is not a change', () => {
  const moved = [{ ...rows[0]!, resolved: 'fp32', reason: 'RANGE_OVERFLOW' }, { ...rows[1]!, detail: 'other words' }, { node: '/c', op: 'Relu', requested: 'fp16', resolved: 'fp16', reason: 'POLICY_DEFAULT' }];
  assert.equal(diffLock(rows, moved), ["'/a/Conv' fp16 (POLICY_DEFAULT) -> fp32 (RANGE_OVERFLOW)", "'/c' is new (fp16, POLICY_DEFAULT)"]);
  assert.equal(diffLock(rows, rows.slice(1)), ["'/a/Conv' is gone"]);
});

test('the lockfile sits beside the pipeline', () => {
  assert.is(lockPath('/x/pipelines/digits.yaml'), '/x/pipelines/digits.lock.json');
});

test.run();
