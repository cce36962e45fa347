/**
 * The user's files a graph reads (model, data), hashed for upload and keys.
 * A data folder becomes a manifest naming each of its files by sha256 (each
 * file is uploaded as its own artifact); synthetic data becomes a manifest
 * with the generator spec. The manifest's hash is the data set's identity.
 * A model with external data becomes a manifest too (model-files.ts).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, TrtpipeError } from '../errors.js';
import type { DataSource } from '../config/types.js';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import type { StageGraph } from '../plan/graph.js';
import { writeFileAtomic } from '../store/atomic.js';
import { hashFile } from '../store/hash-file.js';
import { scanNonfinite } from '../store/nonfinite-scan.js';
import { checkRegularFile, DATA_FILE_LIMIT } from '../user-files.js';
import { modelArtifact } from './model-files.js';
import type { FileArtifact } from './artifact-mover.js';

const MEDIA: Record<string, string> = { model: 'application/onnx', eval_data: 'application/x-npz', calib_data: 'application/x-npz' };
export const MANIFEST_KIND = 'trtpipe.dataset/1';

/**
 * Every input file of `graph`, hashed, by its graph path. `tolerant` (`trtpipe plan`): a file that
 * cannot be read is left out (its stages cannot be keyed) instead of failing.
 */
export async function hashInputFiles(graph: StageGraph, tmpDir: string, opts: { tolerant?: boolean; refuseNonfinite?: boolean } = {}): Promise<Map<string, FileArtifact>> {
  const refs = new Map<string, { role: string; data?: DataSource }>();
  for (const n of graph.nodes) {
    for (const i of Object.values(n.inputs)) if (i.kind === 'file') refs.set(i.path, { role: i.role, ...(i.data ? { data: i.data } : {}) });
  }
  const files = new Map<string, FileArtifact>();
  const hash = (file: string, role: string, data?: DataSource): Promise<FileArtifact> => {
    if (data?.synthetic) return manifest(tmpDir, { kind: MANIFEST_KIND, synthetic: data.synthetic }, []);
    if (data?.dir) return folderManifest(data.dir, tmpDir);
    if (role === 'model') return modelArtifact(file, tmpDir);
    return hashed(file, MEDIA[role] ?? 'application/octet-stream');
  };
  await Promise.all(
    [...refs].map(async ([file, { role, data }]) => {
      try {
        files.set(file, await hash(file, role, data));
      } catch (err) {
        if (!opts.tolerant || !(err instanceof TrtpipeError)) throw err;
      }
    }),
  );
  if (opts.refuseNonfinite) {
    for (const { role, data } of refs.values()) if (data && !data.allow_nonfinite) await refuseNonfinite(data, role === 'calib_data' ? 'calibration' : 'evaluation');
  }
  return files;
}

/**
 * Throws when a data set's float arrays hold NaN or infinite values: every accuracy figure would be
 * NaN. Names the file, the array, the first sample and the count, and the key that accepts them.
 */
async function refuseNonfinite(data: DataSource, set: 'evaluation' | 'calibration'): Promise<void> {
  const files = data.npz ? [data.npz] : data.dir ? readdirSync(data.dir).filter((n) => /\.(npz|npy)$/.test(n)).sort().map((n) => path.join(data.dir!, n)) : [];
  for (const file of files) {
    const found = await scanNonfinite(file);
    if (!found.length) continue;
    const shown = path.relative(process.cwd(), file) || file;
    const arrays = found.map((f) => `array '${f.array}' has ${f.count} NaN or infinite value(s) in ${f.samples} sample(s), the first at sample ${f.firstSample}`);
    throw new InputError(`${set} data ${shown}: ${arrays.join('; ')}. Clean the data, or set data.${set}.allow_nonfinite: true to measure with it`);
  }
}

async function hashed(file: string, mediaType: string): Promise<FileArtifact> {
  checkRegularFile(file, 'data file', DATA_FILE_LIMIT);
  try {
    const { sha256, size } = await hashFile(file);
    return { path: file, sha256, size, mediaType };
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function folderManifest(dir: string, tmpDir: string): Promise<FileArtifact> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(npz|npy)$/.test(n) && statSync(path.join(dir, n)).isFile()).sort();
  } catch (err) {
    throw new InputError(`cannot read data folder ${dir}: ${(err as Error).message}`);
  }
  if (!names.length) throw new InputError(`data folder ${dir} has no .npz or .npy files`);
  const parts = await Promise.all(names.map((n) => hashed(path.join(dir, n), 'application/octet-stream')));
  const body = { kind: MANIFEST_KIND, source: path.basename(dir), files: parts.map((p, i) => ({ name: names[i]!, sha256: p.sha256, size: p.size })) };
  return manifest(tmpDir, body, parts);
}

async function manifest(tmpDir: string, body: Record<string, unknown>, dependencies: FileArtifact[]): Promise<FileArtifact> {
  const text = canonicalJson(body);
  const sha256 = sha256Hex(text);
  const file = path.join(tmpDir, `manifest-${sha256}.json`);
  await writeFileAtomic(file, text);
  return { path: file, sha256, size: Buffer.byteLength(text), mediaType: 'application/vnd.trtpipe.dataset+json', dependencies };
}
