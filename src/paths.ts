/** Locations inside the trtpipe package, independent of the working directory. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder holding package.json (dist/src/paths.js is three levels down). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SCHEMA_PATH = path.join(PACKAGE_ROOT, 'pipelines', 'schema', 'pipeline.schema.json');
export const RUNNER_SOURCE = path.join(PACKAGE_ROOT, 'runner-py');
