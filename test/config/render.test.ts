/** Code frames under diagnostics: long lines are cut around the column, the caret stays under it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { frame } from '../../src/config/render.js';

test('a short line is shown whole with the caret under the column', () => {
  assert.is(frame('version: 1\nname: x y\n', 2, 7), '  1 | version: 1\n  2 | name: x y\n    |       ^');
});

test('a long line is cut to a window around the column, the caret under the same character', () => {
  const long = `name: ${'a'.repeat(400)}X${'b'.repeat(400)}`;
  const col = long.indexOf('X') + 1;
  const lines = frame(`version: 1\n${long}\n`, 2, col).split('\n');
  assert.is(lines[0], '  1 | version: 1', 'a short line before is context, shown whole');
  assert.ok(lines[1]!.length < 140 && lines[1]!.startsWith('  2 | …') && lines[1]!.endsWith('…'), lines[1]);
  assert.is(lines[1]![lines[2]!.indexOf('^')], 'X', 'the caret points at the reported character');
});

test.run();
