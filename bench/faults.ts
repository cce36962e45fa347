/**
 * bench/faults: injects the faults of issue 13 into real `trtpipe run`s (CLI + local runner) and
 * prints what survived. A fault is survived when the CLI ends by itself with the documented exit
 * code and no stack trace; a record is complete when runs/<id>/run.json exists, its status is not
 * `running`, and it says how far the run got; afterwards `cache verify` must find no corrupt entry.
 *
 *   npm run build && node dist/bench/faults.js        (about 2 minutes on 2 idle cores)
 *
 * Faults: the runner killed (SIGKILL) mid-stage; SIGINT once mid-stage; SIGINT twice; a full disk
 * (a 600 KiB tmpfs as the state folder when run as root, else reported as not injected); cache
 * objects corrupted on disk (size and time kept); four concurrent runs on one state folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../test/helpers/cli.js';
import { CLI, EXAMPLES, ROOT, tempDir } from '../test/helpers/paths.js';

interface Outcome {
  fault: string;
  survived: boolean;
  records: { total: number; complete: number };
  corruptEntries: number;
  note: string;
}

const dir = tempDir('trtpipe-faults-');
const DIGITS = (extra = '') => `version: 1
name: faults
model: { path: ${EXAMPLES}/digits/model.onnx }
data:
  evaluation: { npz: ${EXAMPLES}/digits/eval.npz, labels: labels }
targets: [{ name: cpu }]
matrix: { precision: [fp32] }
benchmark: { batch: [1], warmup: 1, iterations: 3 }
${extra}`;
/** A benchmark long enough to be interrupted. */
const LONG = `version: 1
name: long
model: { path: ${EXAMPLES}/transformer/model.onnx }
data:
  evaluation: { npz: ${EXAMPLES}/transformer/eval.npz }
targets: [{ name: cpu }]
matrix: { precision: [fp32] }
benchmark: { batch: [1], warmup: 0, iterations: 100000000, max_seconds: 600 }
`;

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

/** Records under `state`: how many, and how many are complete. */
function records(state: string): { total: number; complete: number } {
  const runs = path.join(state, 'runs');
  if (!existsSync(runs)) return { total: 0, complete: 0 };
  let total = 0;
  let complete = 0;
  for (const id of readdirSync(runs)) {
    total += 1;
    try {
      const r = JSON.parse(readFileSync(path.join(runs, id, 'run.json'), 'utf8')) as {
        status: string;
        stages: Record<string, { status: string }>;
      };
      if (r.status !== 'running' && Object.keys(r.stages).length > 0) complete += 1;
    } catch {
      // no readable run.json: incomplete
    }
  }
  return { total, complete };
}

async function corruptEntries(state: string): Promise<number> {
  const v = await runCli(['cache', 'verify', '--state-dir', state]);
  return Number(/(\d+) corrupt/.exec(v.stdout)?.[1] ?? 0);
}

const noStack = (text: string) => !/\n\s+at .+:\d+:\d+/.test(text) && !text.includes('Traceback');

/** Runs the long pipeline and, once its benchmark started, does `act(child)`; returns the exit code and output. */
async function midStage(state: string, act: (pid: number) => void): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CLI, 'run', file('long.yaml', LONG), '--state-dir', state, '--no-cache'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: '1' },
  });
  let out = '';
  let acted = false;
  const on = (t: string) => {
    out += t;
    if (!acted && /benchmark@\S+\s+started/.test(out)) {
      acted = true;
      setTimeout(() => act(child.pid!), 1000);
    }
  };
  child.stdout.setEncoding('utf8').on('data', on);
  child.stderr.setEncoding('utf8').on('data', on);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return { code, out };
}

const outcomes: Outcome[] = [];
async function fault(name: string, state: string, run: () => Promise<{ ok: boolean; note: string }>): Promise<void> {
  const { ok, note } = await run();
  outcomes.push({ fault: name, survived: ok, records: records(state), corruptEntries: await corruptEntries(state), note });
}

// 1. The local runner killed mid-stage.
const s1 = path.join(dir, 's1');
await fault('runner killed (SIGKILL) mid-stage', s1, async () => {
  const r = await midStage(s1, (pid) => {
    for (const runner of execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean))
      process.kill(Number(runner), 'SIGKILL');
  });
  return { ok: r.code === 3 && noStack(r.out) && /the local runner died/.test(r.out), note: `exit ${r.code}` };
});

// 2. SIGINT once mid-stage.
const s2 = path.join(dir, 's2');
await fault('SIGINT mid-stage', s2, async () => {
  const r = await midStage(s2, (pid) => process.kill(pid, 'SIGINT'));
  return { ok: r.code === 130 && noStack(r.out), note: `exit ${r.code}` };
});

// 3. SIGINT twice: quit at once, the record still says interrupted.
const s3 = path.join(dir, 's3');
await fault('SIGINT twice mid-stage', s3, async () => {
  const r = await midStage(s3, (pid) => {
    process.kill(pid, 'SIGINT');
    setTimeout(() => process.kill(pid, 'SIGINT'), 50);
  });
  return { ok: r.code === 130 && noStack(r.out), note: `exit ${r.code}` };
});

// 4. A full disk.
const s4 = path.join(dir, 's4');
mkdirSync(s4);
let mounted = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=600k', 'tmpfs', s4], { stdio: 'ignore' });
  mounted = true;
} catch {
  // not root: reported below
}
if (mounted) {
  await fault('ENOSPC (600 KiB tmpfs state folder)', s4, async () => {
    const r = await runCli(['run', file('digits.yaml', DIGITS()), '--state-dir', s4]);
    return { ok: r.code === 5 && noStack(r.stdout + r.stderr) && /no space left on the device/.test(r.stderr), note: `exit ${r.code}` };
  });
  execFileSync('umount', [s4]);
} else {
  console.log('  (ENOSPC not injected: mounting a tmpfs needs root; test/hostile/records.test.ts covers it where possible)');
}

// 5. Cache objects corrupted on disk, size and time kept.
const s5 = path.join(dir, 's5');
await fault('cache objects corrupted on disk', s5, async () => {
  const first = await runCli(['run', file('digits.yaml', DIGITS()), '--state-dir', s5]);
  const [id] = readdirSync(path.join(s5, 'runs'));
  const rec = JSON.parse(readFileSync(path.join(s5, 'runs', id!, 'run.json'), 'utf8')) as {
    stages: Record<string, { outputs?: Record<string, { sha256: string }> }>;
  };
  // The engine: the object a later benchmark needs from the cache.
  const sha = rec.stages['build@fp32-cpu']!.outputs!.engine!.sha256;
  const obj = path.join(s5, 'cache', 'objects', sha.slice(0, 2), sha);
  const bytes = readFileSync(obj);
  bytes[bytes.length >> 1]! ^= 0xff;
  writeFileSync(`${obj}.new`, bytes);
  execFileSync('touch', ['-r', obj, `${obj}.new`]);
  renameSync(`${obj}.new`, obj);
  rmSync(path.join(s5, 'runner-store'), { recursive: true, force: true });
  const second = await runCli(['run', file('digits4.yaml', DIGITS().replace('iterations: 3', 'iterations: 4')), '--state-dir', s5]);
  const healed = /failed its hash check \(corrupted on disk\)/.test(second.stdout);
  return { ok: first.code === 0 && second.code === 0 && healed, note: `exit ${second.code}, healed: ${healed}` };
});

// 6. Four concurrent runs on one state folder.
const s6 = path.join(dir, 's6');
await fault('4 concurrent runs, one state folder', s6, async () => {
  const quickstart = path.join(ROOT, 'pipelines', 'quickstart.yaml');
  const rs = await Promise.all([0, 1, 2, 3].map(() => runCli(['run', quickstart, '--state-dir', s6])));
  return { ok: rs.every((r) => r.code === 0 && noStack(r.stdout + r.stderr)), note: `exits ${rs.map((r) => r.code).join(',')}` };
});

console.log('bench/faults: faults injected into real runs (CLI + local runner)');
for (const o of outcomes) {
  console.log(
    `  ${o.survived ? 'survived' : 'FAILED  '}  ${o.fault.padEnd(40)} ${o.note.padEnd(24)} records complete ${o.records.complete}/${o.records.total}, cache entries corrupt ${o.corruptEntries}`,
  );
}
const rec = outcomes.reduce((a, o) => ({ total: a.total + o.records.total, complete: a.complete + o.records.complete }), {
  total: 0,
  complete: 0,
});
console.log(`faults survived: ${outcomes.filter((o) => o.survived).length}/${outcomes.length}`);
console.log(`records complete: ${rec.complete}/${rec.total}`);
console.log(`cache entries corrupt: ${outcomes.reduce((a, o) => a + o.corruptEntries, 0)}`);
process.exitCode = outcomes.every((o) => o.survived) && rec.complete === rec.total ? 0 : 1;
