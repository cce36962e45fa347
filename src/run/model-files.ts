/**
 * A pipeline's model as artifacts. A plain .onnx file is one artifact. A model
 * saved with external data (its tensors in files beside it: every model over
 * 2 GB) becomes its files plus a manifest naming each by sha256
 * (`trtpipe.model/1`, the same form runners write, runner-py/trtpipe_runner/model/manifest.py):
 * every file is uploaded, and the manifest's hash, which covers every byte,
 * is the model's identity in cache keys, lockfiles and search results.
 *
 * Data files must lie in the model's folder or below it: a location that is
 * absolute, climbs out with `..`, or leaves through a symlink is refused
 * before anything is uploaded.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError, TrtpipeError } from '../errors.js';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import { writeFileAtomic } from '../store/atomic.js';
import { hashFile } from '../store/hash-file.js';
import { checkRegularFile, DATA_FILE_LIMIT } from '../user-files.js';
import type { FileArtifact } from './artifact-mover.js';
import { externalTensors } from './onnx-external-data.js';

export const MODEL_MANIFEST_KIND = 'trtpipe.model/1';
export const MODEL_MANIFEST_MEDIA = 'application/vnd.trtpipe.model+json';
export const ONNX_MEDIA = 'application/onnx';

/** The model's data files, relative to its folder (POSIX, normalized), checked to stay inside it. */
export function externalDataFiles(model: string): string[] {
  const folder = path.dirname(model);
  const names = new Set<string>();
  for (const { tensor, location } of externalTensors(model)) {
    const why = locationProblem(location);
    const where = `${model}: tensor '${tensor}' stores its data at '${location}'`;
    if (why) throw new InputError(`${where}, which ${why}; external data must be a file in the model's folder or below it`);
    const name = path.posix.normalize(location);
    if (name === path.basename(model)) throw new InputError(`${where}, the model file itself`);
    const file = path.join(folder, name);
    let real: string;
    try {
      real = realpathSync(file);
    } catch {
      throw new InputError(`${where}, which does not exist (looked for ${file})`);
    }
    if (!isInside(realpathSync(folder), real)) throw new InputError(`${where}, which is a link to ${real}, outside the model's folder`);
    if (!statSync(real).isFile()) throw new InputError(`${where}, which is not a regular file`);
    names.add(name);
  }
  return [...names].sort();
}

/** Why a location could reach outside its folder ("" when it cannot); the runner applies the same rule. */
export function locationProblem(location: string): string {
  if (!location) return 'is empty';
  if (location.startsWith('/') || /^[A-Za-z]:/.test(location)) return 'is absolute';
  if (location.includes('\\')) return 'contains a backslash';
  if (location.split('/').includes('..')) return "leaves the model's folder (..)";
  return '';
}

function isInside(folder: string, file: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The model as an artifact to upload: the file itself, or (external data) a
 * manifest written to `tmpDir` whose dependencies are the model's files.
 */
export async function modelArtifact(model: string, tmpDir: string): Promise<FileArtifact> {
  const { manifest, members } = await describeModel(model);
  if (!manifest) return members[0]!;
  const file = path.join(tmpDir, `model-${manifest.sha256}.json`);
  await writeFileAtomic(file, manifest.text);
  return { path: file, sha256: manifest.sha256, size: Buffer.byteLength(manifest.text), mediaType: MODEL_MANIFEST_MEDIA, dependencies: members };
}

/** The model's identity: the sha256 of the file, or of its manifest when it has external data. */
export async function modelIdentity(model: string): Promise<string> {
  const { manifest, members } = await describeModel(model);
  return manifest?.sha256 ?? members[0]!.sha256;
}

async function describeModel(model: string): Promise<{ manifest?: { text: string; sha256: string }; members: FileArtifact[] }> {
  let data: string[];
  let onnx: { sha256: string; size: number };
  try {
    checkRegularFile(model, 'model', DATA_FILE_LIMIT);
    onnx = await hashFile(model);
    data = externalDataFiles(model);
  } catch (err) {
    if (err instanceof TrtpipeError) throw err;
    throw new InputError(`cannot read ${model}: ${(err as Error).message}`);
  }
  const self: FileArtifact = { path: model, ...onnx, mediaType: ONNX_MEDIA };
  if (!data.length) return { members: [self] };
  const members = [self, ...(await Promise.all(data.map(async (name) => {
    const file = path.join(path.dirname(model), name);
    return { path: file, ...(await hashFile(file)), mediaType: 'application/octet-stream' };
  })))];
  const names = [path.basename(model), ...data];
  const files = members.map((m, i) => ({ name: names[i]!, sha256: m.sha256, size: m.size })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const text = canonicalJson({ kind: MODEL_MANIFEST_KIND, model: path.basename(model), files });
  return { manifest: { text, sha256: sha256Hex(text) }, members };
}
