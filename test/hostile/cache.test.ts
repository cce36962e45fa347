/**
 * Hostile cache contents (issue 13 items 1 and 5): a planted or corrupted entry.json can never
 * make trtpipe read or delete a file outside the cache; a corrupt entry is removed with a reason.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson, sha256Hex } from '../../src/plan/canonical.js';
import { assertNoStack, sandbox, type Sandbox } from '../helpers/sandbox.js';

const KEY = 'a'.repeat(64);

/** Writes an entry.json for KEY whose checksum is right (anyone can compute it), with these outputs. */
function plant(s: Sandbox, outputs: unknown, extra: Record<string, unknown> = {}): void {
  const body = {
    key: KEY,
    node: 'transform@fp32',
    stage: 'transform',
    created: '2026-01-01T00:00:00.000Z',
    result: { outputs, metrics: {}, details: {}, diagnostics: [], seconds: 1, runner: 'local' },
    ...extra,
  };
  const entry = { ...body, checksum: sha256Hex(canonicalJson(body)) };
  const dir = path.join(s.state, 'cache', KEY);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.json'), JSON.stringify(entry));
}

const cases: [string, (s: Sandbox) => void, string][] = [
  [
    'item 1: sha256 climbing out of objects/ to a sentinel file',
    (s) => plant(s, { model: { sha256: '../../sentinel/victim.txt', size: 13, mediaType: 'x' } }),
    "output 'model': sha256 '../../sentinel/victim.txt' is not 64 hex digits",
  ],
  [
    'an absolute sha256',
    (s) => plant(s, { model: { sha256: path.join(s.sentinel, 'victim.txt'), size: 13, mediaType: 'x' } }),
    "output 'model': sha256 '",
  ],
  [
    'a sha256 in a manifest part',
    (s) =>
      plant(s, {
        model: {
          sha256: 'b'.repeat(64),
          size: 1,
          mediaType: 'x',
          parts: [{ sha256: '../../../sentinel/secret.env', size: 19, mediaType: 'x' }],
        },
      }),
    "output 'model' part 0: sha256 '../../../sentinel/secret.env' is not 64 hex digits",
  ],
  [
    'an upper-case sha256',
    (s) => plant(s, { model: { sha256: 'A'.repeat(64), size: 1, mediaType: 'x' } }),
    `output 'model': sha256 '${'A'.repeat(64)}' is not 64 hex digits`,
  ],
  [
    'a negative size',
    (s) => plant(s, { model: { sha256: 'c'.repeat(64), size: -1, mediaType: 'x' } }),
    "output 'model': size is not a byte count",
  ],
  [
    'a stamps key that is a path',
    (s) => plant(s, {}, { stamps: { '../../sentinel/victim.txt': 1 } }),
    "'stamps' holds a bad entry '../../sentinel/victim.txt'",
  ],
  ['outputs that are a list', (s) => plant(s, []), "'result.outputs' is not an object"],
  [
    'an entry that is not JSON',
    (s) => {
      mkdirSync(path.join(s.state, 'cache', KEY), { recursive: true });
      writeFileSync(path.join(s.state, 'cache', KEY, 'entry.json'), '{"key": ');
    },
    'not JSON (',
  ],
  [
    'an entry for another key',
    (s) => {
      plant(s, {});
      const f = path.join(s.state, 'cache', KEY, 'entry.json');
      writeFileSync(f, readFileSync(f, 'utf8').replace(KEY, 'd'.repeat(64)));
    },
    "its key is not the folder's name aaaaaaaaaaaa",
  ],
];

for (const [name, setup, reason] of cases) {
  test(`cache verify: ${name}: removed with the reason, exit 1, nothing outside the state folder touched`, async () => {
    const s = sandbox();
    setup(s);
    const r = await s.cli(['cache', 'verify']);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`corrupt, removed: ${KEY.slice(0, 12)} (${reason}`), r.stderr);
    assert.is(r.stdout, '0 entries verified, 1 corrupt (removed; they rebuild on the next run)\n');
    assert.not.ok(existsSync(path.join(s.state, 'cache', KEY)), 'the corrupt entry is removed');
    assertNoStack(r.stderr);
    s.assertUntouched();
  });
}

test('cache ls skips a planted entry instead of reading its objects', async () => {
  const s = sandbox();
  plant(s, { model: { sha256: '../../sentinel/victim.txt', size: 13, mediaType: 'x' } });
  const r = await s.cli(['cache', 'ls']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '0 entries\n');
  s.assertUntouched();
});

test.run();
