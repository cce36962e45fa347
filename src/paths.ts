/** Locations inside the trtpipe package, independent of the working directory. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder holding package.json (dist/src/paths.js is three levels down). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SCHEMA_PATH = path.join(PACKAGE_ROOT, 'pipelines', 'schema', 'pipeline.schema.json');
/** The runner's source (a checkout of trtpipe; the npm package carries the wheel instead). */
export const RUNNER_SOURCE = path.join(PACKAGE_ROOT, 'runner-py');
/** The runner wheel and its pinned requirements, as `npm pack` puts them in the package (scripts/build-wheel.sh). */
export const RUNNER_DIST = path.join(PACKAGE_ROOT, 'dist', 'runner');
/** The developer's environment in a checkout (`npm run setup`). */
export const CHECKOUT_VENV = path.join(PACKAGE_ROOT, '.venv');
