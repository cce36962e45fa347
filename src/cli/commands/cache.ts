/** `trtpipe cache ls | verify | prune`: inspect and maintain the stage cache. */
import { rm, stat } from 'node:fs/promises';
import { objectsOf } from '../../store/stage-result.js';
import { StageCache } from '../../store/cache.js';
import { stateDir } from '../../store/state-dir.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { InputError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';

const USAGE = 'usage: trtpipe cache ls | verify | prune (--all | --older-than DAYS) [--state-dir DIR]';

export default async function cache(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, 'older-than': { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const c = new StageCache(stateDir(stateRootOf(values['state-dir'])).cache);
  switch (positionals[0]) {
    case 'ls':
      return ls(c, Boolean(values.json));
    case 'verify':
      return verify(c);
    case 'prune':
      // Emptying the whole cache costs every stage's rerun: it has to be asked for.
      if (values.all === undefined && values['older-than'] === undefined) {
        throw new InputError(`cache prune removes entries: say which, --all (everything) or --older-than DAYS; ${USAGE}`);
      }
      if (values.all && values['older-than'] !== undefined) throw new InputError(`cache prune: --all and --older-than exclude each other; ${USAGE}`);
      return prune(c, values.all ? undefined : values['older-than']);
    default:
      throw new InputError(USAGE);
  }
}

async function ls(c: StageCache, json: boolean): Promise<number> {
  const rows = [];
  for (const key of c.keys()) {
    const e = await c.readEntry(key);
    if (!e) continue;
    const bytes = Object.values(e.result.outputs).flatMap(objectsOf).reduce((s, o) => s + o.size, 0);
    rows.push({ key, node: e.node, stage: e.stage, created: e.created, seconds: e.result.seconds, bytes });
  }
  rows.sort((a, b) => a.created.localeCompare(b.created));
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return ExitCode.Ok;
  }
  for (const r of rows) {
    process.stdout.write(`${r.key.slice(0, 12)}  ${r.created.slice(0, 19)}  ${r.node.padEnd(28)} ${r.seconds.toFixed(2).padStart(8)} s ${(r.bytes / 1024).toFixed(0).padStart(9)} KiB\n`);
  }
  process.stdout.write(`${rows.length} entries\n`);
  return ExitCode.Ok;
}

/** Re-hashes every object of every entry; removes corrupt entries (they rebuild on the next run). */
async function verify(c: StageCache): Promise<number> {
  let ok = 0;
  const bad: string[] = [];
  const badObjects = new Set<string>();
  for (const key of c.keys()) {
    const { entry: e, problem } = await c.inspect(key);
    if (e && (await c.intact(e, key, true))) {
      ok += 1;
      continue;
    }
    // A malformed entry's sha256 values are never used: they could name any file (cache-entry.ts).
    bad.push(`${key.slice(0, 12)} ${e ? `${e.node} (an object is missing or fails its hash)` : `(${problem ?? 'unreadable'})`}`);
    for (const o of Object.values(e?.result.outputs ?? {}).flatMap(objectsOf)) {
      if (!(await c.objectMatches(o.sha256))) badObjects.add(o.sha256);
    }
    await c.evict(key);
  }
  for (const sha of badObjects) await rm(c.objectPath(sha), { force: true });
  for (const b of bad) process.stderr.write(`corrupt, removed: ${b}\n`);
  process.stdout.write(`${ok} entries verified, ${bad.length} corrupt${bad.length ? ' (removed; they rebuild on the next run)' : ''}\n`);
  return bad.length ? ExitCode.StageFailed : ExitCode.Ok;
}

/** Removes entries older than N days (undefined: all) and objects no entry uses. */
async function prune(c: StageCache, olderThan: string | undefined): Promise<number> {
  const days = olderThan === undefined ? 0 : Number(olderThan);
  if (!(days >= 0)) throw new InputError(`--older-than must be a number of days, not '${olderThan}'`);
  const cutoff = Date.now() - days * 86_400_000;
  let entries = 0;
  for (const key of c.keys()) {
    const e = await c.readEntry(key);
    if (!e || Date.parse(e.created) <= cutoff) {
      await c.evict(key);
      entries += 1;
    }
  }
  let bytes = 0;
  const orphans = await c.orphanObjects();
  for (const sha of orphans) {
    const file = c.objectPath(sha);
    bytes += (await stat(file).catch(() => ({ size: 0 }))).size;
    await rm(file, { force: true });
  }
  process.stdout.write(`removed ${entries} entries and ${orphans.length} objects (${(bytes / 2 ** 20).toFixed(1)} MiB)\n`);
  return ExitCode.Ok;
}
