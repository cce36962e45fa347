/** `trtpipe schema`: prints the pipeline JSON Schema. */
import { readFileSync } from 'node:fs';
import { SCHEMA_PATH } from '../../paths.js';

export default async function schema(): Promise<number> {
  process.stdout.write(readFileSync(SCHEMA_PATH, 'utf8'));
  return 0;
}
