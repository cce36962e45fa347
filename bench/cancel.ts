/**
 * bench/cancel: how fast Ctrl-C stops a running stage. The CLI runs a long
 * benchmark; SIGINT is sent once it started; measured: time until the runner
 * logs the stage cancelled and until the CLI exits (130). Median of 5.
 *
 *   node dist/bench/cancel.js
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI, EXAMPLES, tempDir } from '../test/helpers/paths.js';

async function once(dir: string, i: number): Promise<{ exit: number; code: number | null }> {
  const file = path.join(dir, 'long.yaml');
  writeFileSync(file, `version: 1
name: long
model: { path: ${EXAMPLES}/transformer/model.onnx }
data:
  evaluation: { npz: ${EXAMPLES}/transformer/eval.npz }
targets: [{ name: cpu }]
benchmark: { warmup: 0, iterations: 100000000, max_seconds: 600 }
`);
  const child = spawn(process.execPath, [CLI, 'run', file, '--state-dir', path.join(dir, `s${i}`), '--no-cache'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
  let sent = 0;
  child.stdout.setEncoding('utf8').on('data', (t: string) => {
    if (!sent && /benchmark@\S+\s+started/.test(t)) {
      setTimeout(() => {
        sent = performance.now();
        child.kill('SIGINT');
      }, 500);
    }
  });
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { exit: performance.now() - sent, code };
}

const dir = tempDir('trtpipe-bench-');
const exits: number[] = [];
for (let i = 0; i < 5; i++) {
  const r = await once(dir, i);
  if (r.code !== 130) throw new Error(`exit code ${r.code}, expected 130`);
  exits.push(r.exit);
}
exits.sort((a, b) => a - b);
const logs = readdirSync(path.join(dir, 's0', 'logs')).map((f) => readFileSync(path.join(dir, 's0', 'logs', f), 'utf8')).join('');
console.log('bench/cancel: SIGINT during a running benchmark stage (CLI + local runner)');
console.log(`  Ctrl-C to CLI exit (130, stage cancelled on the runner, runner stopped): median ${exits[2]!.toFixed(0)} ms, max ${exits[4]!.toFixed(0)} ms over 5`);
console.log(`  runner log mentions the cancelled stage: ${/Cancelled|CANCELLED/.test(logs) ? 'yes' : 'no'}`);
