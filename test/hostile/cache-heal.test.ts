/**
 * A silently corrupted cache object heals (issue 13 item 5): size and time kept, so a cache hit
 * does not re-hash it; it is found before it travels to a runner, removed with the entries that
 * list it, and the stage that made it runs again, with a message that says so.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertNoStack, digitsPipeline, sandbox } from '../helpers/sandbox.js';

/** Flips one byte of every object in the cache, keeping each file's size and times. */
function corruptObjects(objects: string): number {
  let n = 0;
  for (const dir of readdirSync(objects)) {
    for (const name of readdirSync(path.join(objects, dir))) {
      const file = path.join(objects, dir, name);
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] ^= 0xff;
      writeFileSync(`${file}.new`, bytes);
      // touch -r keeps the nanoseconds of the time, as a disk's silent corruption would.
      execFileSync('touch', ['-r', file, `${file}.new`]);
      renameSync(`${file}.new`, file);
      n += 1;
    }
  }
  return n;
}

test('item 5: a cache object corrupted on disk is removed and its stage re-run, with a message; the run succeeds', async () => {
  const s = sandbox();
  s.write('p.yaml', digitsPipeline(''));
  const first = await s.cli(['run', 'p.yaml']);
  assert.is(first.code, 0, first.stdout + first.stderr);
  assert.ok(corruptObjects(path.join(s.state, 'cache', 'objects')) > 0);
  // A runner that never saw the objects (a fresh store), and a benchmark that is not cached: the
  // engine must travel from the cache.
  rmSync(path.join(s.state, 'runner-store'), { recursive: true, force: true });
  s.write('p.yaml', digitsPipeline('').replace('iterations: 3', 'iterations: 4'));
  s.rebase();
  const second = await s.cli(['run', 'p.yaml']);
  assert.is(second.code, 0, second.stdout + second.stderr);
  assert.match(
    second.stdout,
    /warning: cache object [0-9a-f]{12} failed its hash check \(corrupted on disk\): removed it and the cache entries that list it; running build@fp32-cpu again/,
  );
  assert.not.match(second.stdout + second.stderr, 'corrupted in transit');
  assertNoStack(second.stderr);
  // The reference's output was not needed (evaluate stayed cached): only a deep verify finds it.
  const verify = await s.cli(['cache', 'verify']);
  assert.is(verify.code, 1, verify.stdout + verify.stderr);
  assert.is(verify.stdout, '6 entries verified, 1 corrupt (removed; they rebuild on the next run)\n');
  assert.match(verify.stderr, / reference \(an object is missing or fails its hash\)\n$/);
  s.assertUntouched();
});

test.run();
