/**
 * bench/transfer: moving artifacts between the orchestrator and runners.
 *
 * 1. A 256 MiB artifact streamed to and from a local Python runner on
 *    loopback, 1 MiB chunks, tuned channel settings (16 MiB flow-control
 *    window) and grpc-js defaults side by side in the same run.
 * 2. A 2 GiB model with external data (model.onnx + weights.bin, generated in
 *    a temporary folder and deleted after): to the local runner by path
 *    (ImportArtifact: the runner copies it in the kernel and verifies it) and
 *    back by path (the orchestrator verifies and hard-links the runner's blob
 *    into its cache), and to a loopback "remote" runner streamed over gRPC
 *    and back. Seconds and MiB/s each way; every byte is sha256-verified on
 *    the receiving side. The orchestrator's own hashing of the model (once per
 *    run, before anything moves) is shown separately.
 *
 *   node dist/bench/transfer.js [--mib 256] [--repeats 3] [--model-mib 2048] [--model-repeats 2]
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { refOf } from '../src/run/artifact-mover.js';
import { modelArtifact } from '../src/run/model-files.js';
import { resolvePython, spawnLocalRunner } from '../src/runner-client/local-runner.js';
import { RunnerClient } from '../src/runner-client/runner-client.js';
import { StageCache } from '../src/store/cache.js';
import { tempDir } from '../test/helpers/paths.js';
import { POOL_TOKEN, serveRunner } from '../test/helpers/runners.js';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    repeats: { type: 'string', default: '3' },
    'model-mib': { type: 'string', default: '2048' },
    'model-repeats': { type: 'string', default: '2' },
  },
});
const mib = Number(values.mib);
const repeats = Number(values.repeats);
const modelMib = Number(values['model-mib']);
const modelRepeats = Number(values['model-repeats']);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = async (work: () => Promise<unknown>) => {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
};
const objectIn = (store: string, sha: string) => path.join(store, 'objects', sha.slice(0, 2), sha);

async function streamedArtifact(dir: string): Promise<string[]> {
  const runner = await spawnLocalRunner({ storeDir: path.join(dir, 'store') });
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
        up.push(mib / (await seconds(() => client.putArtifact(file, { sha256, size: data.length, mediaType: 'application/octet-stream' }))));
        down.push(mib / (await seconds(() => client.getArtifact(sha256, path.join(dir, 'back.bin')))));
        rmSync(path.join(dir, 'back.bin'));
        // Forget it on the runner so the next upload transfers the bytes again.
        rmSync(objectIn(path.join(dir, 'store'), sha256), { force: true });
      }
      client.close();
      rows.push(`${label.padEnd(24)} upload ${median(up).toFixed(0).padStart(5)} MiB/s   download ${median(down).toFixed(0).padStart(5)} MiB/s   (median of ${repeats}; all up ${up.map((x) => x.toFixed(0)).join('/')}, down ${down.map((x) => x.toFixed(0)).join('/')})`);
    }
  } finally {
    await runner.stop();
  }
  return rows;
}

/** model.onnx (one Add with a float tensor of `mib` MiB) + weights.bin holding that tensor, random bytes. */
function bigModel(dir: string): string {
  const weights = path.join(dir, 'weights.bin');
  const fd = openSync(weights, 'w');
  const block = 64 << 20;
  for (let left = modelMib * 2 ** 20; left > 0; left -= block) writeSync(fd, randomBytes(Math.min(block, left)));
  closeSync(fd);
  const model = path.join(dir, 'model.onnx');
  execFileSync(resolvePython(), ['-c', `
import sys, onnx
from onnx import TensorProto, helper
n = int(sys.argv[2]) * (1 << 20) // 4
w = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[n], data_location=TensorProto.EXTERNAL)
for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", str(n * 4))):
    w.external_data.add(key=k, value=v)
g = helper.make_graph([helper.make_node("Add", ["x", "W"], ["y"])], "big",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])], [w])
open(sys.argv[1], "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
`, model, String(modelMib)]);
  return model;
}

async function bigModelTransfers(dir: string): Promise<string[]> {
  const model = bigModel(dir);
  const rows: string[] = [];
  let artifact = await modelArtifact(model, dir); // once untimed: the file is then in the page cache, as after writing it
  const hashS = await seconds(async () => (artifact = await modelArtifact(model, dir)));
  const files = [...(artifact.dependencies ?? []), artifact];
  const total = files.reduce((s, f) => s + f.size, 0) / (1 << 20);
  rows.push(`orchestrator hashes the model (once per run)       ${hashS.toFixed(2).padStart(6)} s  ${(total / hashS).toFixed(0).padStart(5)} MiB/s`);
  const row = (label: string, up: number[], down: number[]) =>
    `${label.padEnd(36)} up ${median(up).toFixed(2).padStart(6)} s ${(total / median(up)).toFixed(0).padStart(5)} MiB/s   down ${median(down).toFixed(2).padStart(6)} s ${(total / median(down)).toFixed(0).padStart(5)} MiB/s   (median of ${up.length})`;

  // The local runner: by path both ways.
  const localStore = path.join(dir, 'local-store');
  const local = await spawnLocalRunner({ storeDir: localStore });
  const localClient = new RunnerClient(local.address, { token: local.token });
  const cache = new StageCache(path.join(dir, 'cache'));
  try {
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < modelRepeats; i++) {
      up.push(await seconds(async () => { for (const f of files) await localClient.importArtifact(f.path, refOf(f)); }));
      down.push(await seconds(async () => { for (const f of files) await cache.importObject(f.sha256, objectIn(localStore, f.sha256)); }));
      rmSync(path.join(dir, 'cache'), { recursive: true, force: true });
      for (const f of files) rmSync(objectIn(localStore, f.sha256), { force: true });
    }
    rows.push(row('local runner (by path)', up, down));
  } finally {
    localClient.close();
    await local.stop();
    rmSync(localStore, { recursive: true, force: true });
  }

  // A runner reached over gRPC on loopback: streamed both ways.
  const remoteStore = path.join(dir, 'remote-store');
  const remote = await serveRunner(remoteStore);
  const remoteClient = new RunnerClient(remote.address, { token: POOL_TOKEN });
  try {
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < modelRepeats; i++) {
      up.push(await seconds(async () => { for (const f of files) await remoteClient.putArtifact(f.path, refOf(f)); }));
      down.push(await seconds(async () => { for (const f of files) await remoteClient.getArtifact(f.sha256, path.join(dir, 'back', f.sha256)); }));
      rmSync(path.join(dir, 'back'), { recursive: true, force: true });
      for (const f of files) rmSync(objectIn(remoteStore, f.sha256), { force: true });
    }
    rows.push(row('loopback remote runner (streamed)', up, down));
  } finally {
    remoteClient.close();
    await remote.stop();
    rmSync(remoteStore, { recursive: true, force: true });
  }
  return rows;
}

const dir = tempDir('trtpipe-bench-');
try {
  const streamed = mib > 0 ? await streamedArtifact(dir) : [];
  const model = modelMib > 0 ? await bigModelTransfers(dir) : [];
  if (streamed.length) {
    console.log(`bench/transfer: ${mib} MiB artifact, 1 MiB chunks, loopback, sha256 verified on both ends`);
    for (const r of streamed) console.log(`  ${r}`);
  }
  if (model.length) {
    console.log(`bench/transfer: a ${modelMib} MiB model with external data (model.onnx + weights.bin), verified by the receiver`);
    for (const r of model) console.log(`  ${r}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
