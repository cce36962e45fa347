/** `trtpipe lock <pipeline.yaml>`: resolve every precision of the matrix and write <pipeline>.lock.json. */
import path from 'node:path';
import { transformPrecision } from '../../plan/node-id.js';
import { modelIdentity } from '../../run/model-files.js';
import { diffLock, lockPath, readLockfile, relativeModelPath, writeLockfile } from '../../store/lockfile.js';
import { committedSearch } from '../committed-search.js';
import { ExitCode } from '../exit-codes.js';
import { parseOrExplain } from '../parse-args.js';
import { loadOrExit } from '../load-or-exit.js';
import { runOnly } from '../run-only.js';
import { InputError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';
import type { LockRow, Lockfile } from '../../gen/schema/lock-file.js';

export default async function lock(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { 'state-dir': { type: 'string' }, python: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
  });
  if (positionals.length !== 1) throw new InputError('usage: trtpipe lock <pipeline.yaml>');
  const pipeline = await loadOrExit(positionals[0]!);
  // The lock records what `run` resolves, so it applies the same committed search result.
  const searchKeep = await committedSearch(pipeline, { warn: (l) => process.stderr.write(`${l}\n`) });
  const ran = await runOnly(pipeline, (n) => n.stage === 'transform', {
    stateRoot: stateRootOf(values['state-dir']),
    python: values.python,
    verbose: Boolean(values.verbose),
    ...(searchKeep ? { searchKeep } : {}),
  });
  if (typeof ran === 'number') return ran;
  const { record } = ran;
  const file = lockPath(pipeline.file);
  const lockfile: Lockfile = {
    schema: 'trtpipe.lock/1',
    pipeline: pipeline.name,
    model: { path: relativeModelPath(pipeline.file, pipeline.model.path), sha256: await modelIdentity(pipeline.model.path) },
    precisions: Object.fromEntries(
      Object.entries(record.stages)
        .filter(([, s]) => s.stage === 'transform' && s.status === 'done')
        .map(([id, s]) => [transformPrecision(id)!, { nodes: s.details!.lock as LockRow[] }]),
    ),
  };
  const before = readLockfile(file);
  await writeLockfile(file, lockfile);
  const rel = path.relative(process.cwd(), file) || file;
  for (const [precision, { nodes }] of Object.entries(lockfile.precisions)) {
    const counts = new Map<string, number>();
    for (const r of nodes) counts.set(r.resolved, (counts.get(r.resolved) ?? 0) + 1);
    const changed = before?.precisions[precision] ? diffLock(before.precisions[precision]!.nodes, nodes).length : undefined;
    process.stdout.write(`${precision.padEnd(5)} ${nodes.length} nodes: ${[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${n} ${p}`).join(', ')}${changed === undefined ? '' : `; ${changed} changed`}\n`);
  }
  process.stdout.write(`wrote ${rel}\n`);
  return ExitCode.Ok;
}
