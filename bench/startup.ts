/**
 * bench/startup: cold start of `trtpipe --help` (and `--version`), median of
 * 20 runs each, as a user runs it: a new Node process every time.
 *
 *   node dist/bench/startup.js [--runs 20]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { CLI } from '../test/helpers/paths.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);

function time(args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'ignore' });
    out.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`trtpipe ${args.join(' ')} exited ${r.status}`);
  }
  return out.sort((a, b) => a - b);
}

const bare = time(['--version']);
const nodeOnly: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  nodeOnly.push(performance.now() - t0);
}
nodeOnly.sort((a, b) => a - b);
const help = time(['--help']);
const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
console.log(`bench/startup: median of ${runs} cold starts`);
console.log(`  trtpipe --help     ${med(help).toFixed(0)} ms   (min ${help[0]!.toFixed(0)}, max ${help[help.length - 1]!.toFixed(0)})`);
console.log(`  trtpipe --version  ${med(bare).toFixed(0)} ms`);
console.log(`  node -e 0          ${med(nodeOnly).toFixed(0)} ms   (the floor: Node itself)`);
