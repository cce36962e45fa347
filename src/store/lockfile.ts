/**
 * The precision lockfile `<pipeline>.lock.json`, committed beside the
 * pipeline: per precision of the matrix, one row per ONNX node with the
 * requested and resolved precision, the reason and the deciding rule. Rows
 * keep graph order and one row per line, so a review diff shows exactly the
 * nodes that moved.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../errors.js';
import { RECORD_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import type { Lockfile, LockRow } from '../gen/schema/lock-file.js';
import { writeFileAtomic } from './atomic.js';

/** The lockfile's type: generated from pipelines/schema/lock.schema.json. */
export type { Lockfile, LockRow } from '../gen/schema/lock-file.js';

export const LOCK_SCHEMA = 'trtpipe.lock/1';

export function lockPath(pipelineFile: string): string {
  return pipelineFile.replace(/\.ya?ml$/, '') + '.lock.json';
}

/** The lockfile, or undefined when there is none; one that cannot be read or parsed is a user error naming it. */
export function readLockfile(file: string): Lockfile | undefined {
  if (!existsSync(file)) return undefined;
  let lock: Lockfile;
  try {
    lock = JSON.parse(readUserText(file, 'lockfile', RECORD_FILE_LIMIT)) as Lockfile;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${file}: not a readable lockfile (${(err as Error).message}); run \`trtpipe lock\` again`);
  }
  if (lock?.schema !== LOCK_SCHEMA || typeof lock.precisions !== 'object' || lock.precisions === null) {
    throw new InputError(`${file}: not a trtpipe lockfile (schema ${String(lock?.schema)}, expected ${LOCK_SCHEMA}); run \`trtpipe lock\` again`);
  }
  return lock;
}

/** Stable text: fixed key order, one node per line. */
export function formatLockfile(lock: Lockfile): string {
  const row = (r: LockRow) =>
    JSON.stringify({
      node: r.node,
      op: r.op,
      requested: r.requested,
      resolved: r.resolved,
      reason: r.reason,
      ...(r.rule !== undefined ? { rule: r.rule } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
    });
  const precisions = Object.keys(lock.precisions)
    .sort()
    .map((p) => `    ${JSON.stringify(p)}: {\n      "nodes": [\n${lock.precisions[p]!.nodes.map((r) => `        ${row(r)}`).join(',\n')}\n      ]\n    }`);
  return `{\n  "schema": ${JSON.stringify(lock.schema)},\n  "pipeline": ${JSON.stringify(lock.pipeline)},\n  "model": ${JSON.stringify(lock.model)},\n  "precisions": {\n${precisions.join(',\n')}\n  }\n}\n`;
}

export async function writeLockfile(file: string, lock: Lockfile): Promise<void> {
  await writeFileAtomic(file, formatLockfile(lock));
}

/** The rows whose decision differs (detail text is informative, not compared). */
export function diffLock(expected: LockRow[], actual: LockRow[]): string[] {
  const key = (r: LockRow) => `${r.requested}>${r.resolved}:${r.reason}:${r.rule ?? ''}`;
  const exp = new Map(expected.map((r) => [r.node, r]));
  const act = new Map(actual.map((r) => [r.node, r]));
  const out: string[] = [];
  for (const [node, a] of act) {
    const e = exp.get(node);
    if (!e) out.push(`'${node}' is new (${a.resolved}, ${a.reason})`);
    else if (key(e) !== key(a)) out.push(`'${node}' ${e.resolved} (${e.reason}) -> ${a.resolved} (${a.reason})`);
  }
  for (const node of exp.keys()) if (!act.has(node)) out.push(`'${node}' is gone`);
  return out;
}

export function relativeModelPath(pipelineFile: string, model: string): string {
  return path.relative(path.dirname(pipelineFile), model);
}
