/**
 * The artifact mover's round trips to a runner: a small file goes with one PutArtifact (the runner
 * drops what it has), a large one or an output not held here is asked about first. The recording
 * runner stands in for the runner's calls only; the mover, the transfer slots and the cache are real.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArtifactMover, type FileArtifact } from '../../src/run/artifact-mover.js';
import type { RunnerCalls, RunnerHandle } from '../../src/run/pool.js';
import { capabilitiesFromJson } from '../../src/runner-client/capabilities.js';
import type { StageRunResult } from '../../src/runner-client/stage-run.js';
import { StageCache } from '../../src/store/cache.js';
import type { ArtifactRef } from '../../src/store/stage-result.js';
import { tempDir } from '../helpers/paths.js';

/** A remote runner that records its calls and holds the artifacts in `holds`. */
class RecordingRunner implements RunnerCalls {
  readonly calls: string[] = [];
  constructor(private readonly holds: Set<string>) {}
  runStage(): Promise<StageRunResult> {
    return Promise.reject(new Error('no stages in these tests'));
  }
  healthy(): Promise<boolean> {
    return Promise.resolve(true);
  }
  hasArtifacts(shas: string[]): Promise<Set<string>> {
    this.calls.push('HasArtifacts');
    return Promise.resolve(new Set(shas.filter((s) => this.holds.has(s))));
  }
  putArtifact(_file: string, ref: ArtifactRef): Promise<boolean> {
    this.calls.push('PutArtifact');
    const had = this.holds.has(ref.sha256);
    this.holds.add(ref.sha256);
    return Promise.resolve(had);
  }
  importArtifact(): Promise<boolean> {
    return Promise.reject(new Error('a remote runner takes no paths'));
  }
  getArtifact(): Promise<never> {
    return Promise.reject(new Error('not asked for in these tests'));
  }
  close(): void {}
}

function setup(holds: string[] = []) {
  const dir = tempDir();
  const runner = new RecordingRunner(new Set(holds));
  const h: RunnerHandle = {
    address: 'remote:50051',
    target: 't',
    client: runner,
    local: false,
    capabilities: capabilitiesFromJson({}),
    alive: true,
    load: { busy: 0 },
    has: new Set<string>(),
  };
  const uploads: boolean[] = [];
  const mover = new ArtifactMover(
    new StageCache(path.join(dir, 'cache')),
    (e) => e.type === 'upload' && uploads.push(e.skipped),
    new AbortController().signal,
  );
  return { dir, runner, h, mover, uploads };
}

function file(dir: string, name: string, bytes: number): FileArtifact {
  const data = Buffer.alloc(bytes, name);
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return { path: p, sha256: createHash('sha256').update(data).digest('hex'), size: bytes, mediaType: 'application/octet-stream' };
}

test('a file of one chunk goes to a remote runner in one PutArtifact, not asked about first', async () => {
  const { dir, runner, h, mover, uploads } = setup();
  await mover.ensureFile(h, file(dir, 'small', 1000));
  assert.equal(runner.calls, ['PutArtifact']);
  assert.equal(uploads, [false]);
});

test('a small file the runner has: still one call, and the upload says it was already there', async () => {
  const f = file(tempDir(), 'small', 1000);
  const { runner, h, mover, uploads } = setup([f.sha256]);
  await mover.ensureFile(h, f);
  assert.equal(runner.calls, ['PutArtifact']);
  assert.equal(uploads, [true]);
});

test('a file over one chunk is asked about first, and not sent when the runner has it', async () => {
  const f = file(tempDir(), 'large', (1 << 20) + 1);
  const { runner, h, mover, uploads } = setup([f.sha256]);
  await mover.ensureFile(h, f);
  assert.equal(runner.calls, ['HasArtifacts']);
  assert.equal(uploads, [true]);
});

test('an output not held here is asked about first: the runner that has it needs no fetch', async () => {
  const sha = 'cd'.repeat(32);
  const { runner, h, mover } = setup([sha]);
  await mover.ensureOutput(h, { sha256: sha, size: 10, mediaType: 'application/onnx' }, undefined);
  assert.equal(runner.calls, ['HasArtifacts']);
});

test.run();
