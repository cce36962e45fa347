/** The user's files a graph reads (model, data), hashed for upload and keys. */
import { UserError } from '../cli/user-error.js';
import type { StageGraph } from '../plan/graph.js';
import { hashFile } from '../store/hash-file.js';
import type { FileArtifact } from './scheduler.js';

const MEDIA: Record<string, string> = { model: 'application/onnx', eval_data: 'application/x-npz', calib_data: 'application/x-npz' };

export async function hashInputFiles(graph: StageGraph): Promise<Map<string, FileArtifact>> {
  const refs = new Map<string, string>();
  for (const n of graph.nodes) {
    for (const i of Object.values(n.inputs)) if (i.kind === 'file') refs.set(i.path, i.role);
  }
  const files = new Map<string, FileArtifact>();
  await Promise.all(
    [...refs].map(async ([file, role]) => {
      if (file.startsWith('synthetic:')) {
        throw new UserError(`synthetic data is not supported by this version of trtpipe yet; use an .npz file`);
      }
      try {
        const { sha256, size } = await hashFile(file);
        files.set(file, { path: file, sha256, size, mediaType: MEDIA[role] ?? 'application/octet-stream' });
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new UserError(e.code === 'EISDIR' ? `data folders are not supported yet: ${file}` : `cannot read ${file}: ${e.message}`);
      }
    }),
  );
  return files;
}
