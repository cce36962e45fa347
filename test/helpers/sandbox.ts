/**
 * A sandbox for hostile inputs: a temporary folder with a sentinel folder of files that nothing
 * may touch, a state folder trtpipe may write, and a snapshot of everything outside the state
 * folder, so a test can assert that a run changed nothing but its own state.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { runCli, type CliResult } from './cli.js';
import { EXAMPLES, tempDir } from './paths.js';

export interface Sandbox {
  dir: string;
  /** The state folder (`--state-dir`). */
  state: string;
  /** Files nothing may change or delete. */
  sentinel: string;
  /** Writes `text` to `name` (relative to dir) and returns its absolute path. */
  write(name: string, text: string | Uint8Array): string;
  /** Runs the CLI in the sandbox with `--state-dir` appended (when `stateArg`). */
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv; stateArg?: boolean }): Promise<CliResult>;
  /** Asserts that nothing outside the state folder changed since the sandbox was made (or since `rebase`). */
  assertUntouched(): void;
  /** Takes the current contents as the new reference (after a test adds its own files). */
  rebase(): void;
}

/** Name, size and sha256 of every entry under `root`, skipping `skip` (the state folder). */
function snapshot(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (full === skip) continue;
      const st = lstatSync(full);
      const rel = path.relative(root, full);
      if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(full);
      } else if (st.isFile()) {
        out.set(rel, `${st.size}:${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
      } else out.set(rel, st.isFIFO() ? 'fifo' : st.isSymbolicLink() ? 'link' : 'other');
    }
  };
  walk(root);
  return out;
}

/** A fresh sandbox with the digits example's model and data copied in (model.onnx, eval.npz, calib.npz). */
export function sandbox(): Sandbox {
  const dir = tempDir('trtpipe-hostile-');
  const state = path.join(dir, '.trtpipe');
  const sentinel = path.join(dir, 'sentinel');
  mkdirSync(sentinel);
  writeFileSync(path.join(sentinel, 'victim.txt'), 'must survive\n');
  writeFileSync(path.join(sentinel, 'secret.env'), 'TOKEN=do-not-touch\n');
  for (const f of ['model.onnx', 'eval.npz', 'calib.npz']) copyFileSync(path.join(EXAMPLES, 'digits', f), path.join(dir, f));
  let reference = snapshot(dir, state);
  return {
    dir,
    state,
    sentinel,
    write(name, text) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    cli(args, opts = {}) {
      return runCli([...args, ...(opts.stateArg === false ? [] : ['--state-dir', state])], {
        cwd: dir,
        ...(opts.env ? { env: opts.env } : {}),
      });
    },
    assertUntouched() {
      const now = snapshot(dir, state);
      const changed = [...new Set([...reference.keys(), ...now.keys()])].filter((k) => reference.get(k) !== now.get(k));
      assert.equal(changed, [], `changed outside the state folder: ${changed.join(', ')}`);
    },
    rebase() {
      reference = snapshot(dir, state);
    },
  };
}

/** A minimal valid pipeline over the sandbox's digits files; `extra` lines are appended. */
export function digitsPipeline(
  extra = '',
  o: { name?: string; model?: string; evalNpz?: string; calibNpz?: string; precision?: string } = {},
): string {
  return `version: 1
name: ${o.name ?? 'hostile'}
model: { path: ${o.model ?? './model.onnx'} }
data:
${o.calibNpz ? `  calibration: { npz: ${o.calibNpz} }\n` : ''}  evaluation: { npz: ${o.evalNpz ?? './eval.npz'}, labels: labels }
targets: [{ name: cpu }]
matrix: { precision: [${o.precision ?? 'fp32'}] }
benchmark: { batch: [1], warmup: 1, iterations: 3 }
${extra}`;
}

/** No stack trace and no Python traceback: a user error prints its message alone. */
export function assertNoStack(text: string): void {
  assert.not.match(text, /\n\s+at .+:\d+:\d+/);
  assert.not.match(text, 'Traceback');
}
