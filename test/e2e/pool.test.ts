/**
 * Remote runner pools on loopback: a matrix spread over several runners, a
 * runner killed mid-stage (its stage moves to another), refused tokens.
 */
import { execSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../../src/store/run-record.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';
import { POOL_TOKEN, selfSignedCert, startRunners, startTlsRunner, stopRunners } from '../helpers/runners.js';

function pipeline(dir: string, runners: string[], extra = '', scheme = 'grpc', targetExtra = ''): string {
  const file = path.join(dir, 'pool.yaml');
  writeFileSync(
    file,
    `version: 1
name: pool
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data:
  calibration: { npz: ${path.join(EXAMPLES, 'digits', 'calib.npz')} }
  evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')}, labels: labels }
targets:
  - name: pool
    runner: [${runners.map((r) => `"${scheme}://${r}"`).join(', ')}]
    token_env: POOL_TOKEN${targetExtra}
matrix: { precision: [fp32, fp16, int8] }
${extra}`,
  );
  return file;
}

function record(state: string): RunRecord {
  const id = readdirSync(path.join(state, 'runs'))[0]!;
  return JSON.parse(readFileSync(path.join(state, 'runs', id, 'run.json'), 'utf8')) as RunRecord;
}

test('a 3-cell matrix spreads over three runners and all cells complete', async () => {
  const rs = await startRunners(3);
  try {
    const dir = tempDir();
    const state = path.join(dir, 'state');
    const r = await runCli(
      [
        'run',
        pipeline(
          dir,
          rs.map((x) => x.address),
          'benchmark: { iterations: 20 }\n',
        ),
        '--state-dir',
        state,
      ],
      { env: { POOL_TOKEN: POOL_TOKEN } },
    );
    assert.is(r.code, 0, r.stdout + r.stderr);
    const rec = record(state);
    assert.ok(rec.cells.every((c) => c.status === 'ok'));
    const used = new Set(Object.values(rec.stages).map((s) => s.runner));
    assert.ok(used.size >= 2, `stages ran on ${[...used].join(', ')}`);
    const verify = await runCli(['cache', 'verify', '--state-dir', state]);
    assert.is(verify.code, 0, verify.stdout);
  } finally {
    await stopRunners(rs);
  }
});

test('targets that list the same runners share their slots: never two stages at once on one runner', async () => {
  const rs = await startRunners(2);
  try {
    const dir = tempDir();
    const state = path.join(dir, 'state');
    const file = pipeline(
      dir,
      rs.map((x) => x.address),
      'benchmark: { iterations: 20 }\n',
    );
    // A second target on the same two runners: its stages and the first target's take the same slots
    // (--no-cache: the two targets are alike, so their stages would otherwise share cache entries).
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/(  - name: pool\n(?:    .*\n)+)/, (t) => `${t}${t.replace('name: pool', 'name: again')}`),
    );
    const r = await runCli(['run', file, '--state-dir', state, '--no-cache'], { env: { POOL_TOKEN: POOL_TOKEN } });
    assert.is(r.code, 0, r.stdout + r.stderr);
    const rec = record(state);
    assert.equal(rec.cells.length, 6);
    assert.ok(rec.cells.every((c) => c.status === 'ok'));
    // Each stage's device leases span its run on the runner (runner clock): per runner, in order, none overlaps the next.
    for (const address of rs.map((x) => x.address)) {
      const spans = Object.entries(rec.stages)
        .filter(([, s]) => s.runner === address && !s.cached && s.leases?.length)
        .map(([id, s]) => ({
          id,
          from: Math.min(...s.leases!.map((l) => l.acquiredAt)),
          to: Math.max(...s.leases!.map((l) => l.releasedAt)),
        }))
        .sort((a, b) => a.from - b.from);
      assert.ok(spans.length >= 2, `runner ${address} ran ${spans.length} stage(s)`);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(spans[i]!.from >= spans[i - 1]!.to, `on ${address}, ${spans[i]!.id} started while ${spans[i - 1]!.id} ran`);
      }
    }
  } finally {
    await stopRunners(rs);
  }
});

test('a runner killed mid-stage: its stage is retried on another runner and the run completes', async () => {
  const rs = await startRunners(2);
  try {
    const dir = tempDir();
    const state = path.join(dir, 'state');
    let started = 0;
    let killed = false;
    const r = await runCli(
      [
        'run',
        pipeline(
          dir,
          rs.map((x) => x.address),
          'benchmark: { warmup: 0, iterations: 100000000, max_seconds: 3 }\n',
        ),
        '--state-dir',
        state,
        '--verbose',
      ],
      {
        env: { POOL_TOKEN: POOL_TOKEN },
        onStdout: (text) => {
          started += (text.match(/benchmark@\S+\s+started/g) ?? []).length;
          if (started >= 2 && !killed) {
            killed = true; // both runners are busy benchmarking: either one is mid-stage
            execSync(`kill -9 ${rs[0]!.process.pid}`);
          }
        },
      },
    );
    assert.ok(killed, 'two benchmarks never ran at once');
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /runner 127\.0\.0\.1:\d+ lost .*retrying/);
    const rec = record(state);
    assert.ok(rec.cells.every((c) => c.status === 'ok'));
    const verify = await runCli(['cache', 'verify', '--state-dir', state]);
    assert.is(verify.code, 0, verify.stdout);
  } finally {
    await stopRunners(rs);
  }
});

test('a wrong token is refused before any work, naming the target; the token never appears in output', async () => {
  const rs = await startRunners(1);
  try {
    const dir = tempDir();
    const r = await runCli(['run', pipeline(dir, [rs[0]!.address]), '--state-dir', path.join(dir, 's')], {
      env: { POOL_TOKEN: 'not-the-token' },
    });
    assert.is(r.code, 3);
    assert.match(r.stderr, /target 'pool': runner 127\.0\.0\.1:\d+ is unreachable: the token in POOL_TOKEN was refused/);
    assert.not.match(r.stdout + r.stderr, 'not-the-token');
    const missing = await runCli(['run', pipeline(dir, [rs[0]!.address]), '--state-dir', path.join(dir, 's')], { env: { POOL_TOKEN: '' } });
    assert.is(missing.code, 3);
    assert.match(missing.stderr, 'environment variable POOL_TOKEN (token_env) is not set');
  } finally {
    await stopRunners(rs);
  }
});

test('grpcs:// with a private CA, and mutual TLS: the client certificate is required', async () => {
  const dir = tempDir();
  const { cert, key } = selfSignedCert(dir);
  const tls = `\n    tls: { ca: ${cert} }`;
  const server = await startTlsRunner(dir, { cert, key });
  try {
    const ok = await runCli(
      ['run', pipeline(dir, [server.address], 'benchmark: { iterations: 5 }\n', 'grpcs', tls), '--state-dir', path.join(dir, 's1')],
      { env: { POOL_TOKEN: POOL_TOKEN } },
    );
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
    const plain = await runCli(['run', pipeline(dir, [server.address]), '--state-dir', path.join(dir, 's2')], {
      env: { POOL_TOKEN: POOL_TOKEN },
    });
    assert.is(plain.code, 3, 'plaintext against a TLS runner is refused');
  } finally {
    await server.stop();
  }
  const mutual = await startTlsRunner(dir, { cert, key, clientCa: cert });
  try {
    const without = await runCli(['run', pipeline(dir, [mutual.address], '', 'grpcs', tls), '--state-dir', path.join(dir, 's3')], {
      env: { POOL_TOKEN: POOL_TOKEN },
    });
    assert.is(without.code, 3, 'no client certificate: refused');
    const withCert = `\n    tls: { ca: ${cert}, cert: ${cert}, key: ${key} }`;
    const ok = await runCli(
      ['run', pipeline(dir, [mutual.address], 'benchmark: { iterations: 5 }\n', 'grpcs', withCert), '--state-dir', path.join(dir, 's4')],
      { env: { POOL_TOKEN: POOL_TOKEN } },
    );
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await mutual.stop();
  }
});

test.run();
