/**
 * bench/transfer: upload and download of a 256 MiB artifact between the TS
 * client and a local Python runner on loopback, 1 MiB chunks, MiB/s each way.
 * Tuned channel settings (16 MiB flow-control window) and grpc-js defaults are
 * measured side by side in the same run.
 *
 *   node dist/bench/transfer.js [--mib 256] [--repeats 3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnLocalRunner } from '../src/runner-client/local-runner.js';
import { RunnerClient } from '../src/runner-client/runner-client.js';
import { tempDir } from '../test/helpers/paths.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, repeats: { type: 'string', default: '3' } } });
const mib = Number(values.mib);
const repeats = Number(values.repeats);
const dir = tempDir('trtpipe-bench-');
const runner = await spawnLocalRunner({ storeDir: path.join(dir, 'store') });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const configs: [string, Record<string, number>][] = [
  ['tuned (16 MiB window)', {}],
  ['grpc-js defaults', { 'grpc-node.flow_control_window': 65535 }],
];
const rows: string[] = [];
// One source file, written before any timing (its write-back settles first).
const data = randomBytes(mib << 20);
const file = path.join(dir, 'blob.bin');
writeFileSync(file, data);
const sha256 = createHash('sha256').update(data).digest('hex');
await new Promise((r) => setTimeout(r, 1000));
try {
  for (const [label, channelOptions] of configs) {
    const client = new RunnerClient(runner.address, { token: runner.token, channelOptions });
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < repeats; i++) {
      let t0 = performance.now();
      await client.putArtifact(file, { sha256, size: data.length, mediaType: 'application/octet-stream' });
      up.push(mib / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      await client.getArtifact(sha256, path.join(dir, 'back.bin'));
      down.push(mib / ((performance.now() - t0) / 1000));
      rmSync(path.join(dir, 'back.bin'));
      // Forget it on the runner so the next upload transfers the bytes again.
      rmSync(path.join(dir, 'store', 'objects', sha256.slice(0, 2), sha256), { force: true });
    }
    client.close();
    rows.push(`${label.padEnd(24)} upload ${median(up).toFixed(0).padStart(5)} MiB/s   download ${median(down).toFixed(0).padStart(5)} MiB/s   (median of ${repeats}; all up ${up.map((x) => x.toFixed(0)).join('/')}, down ${down.map((x) => x.toFixed(0)).join('/')})`);
  }
} finally {
  await runner.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.log(`bench/transfer: ${mib} MiB artifact, 1 MiB chunks, loopback, sha256 verified on both ends`);
for (const r of rows) console.log(`  ${r}`);
