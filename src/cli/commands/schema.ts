/** `trtpipe schema`: prints the pipeline JSON Schema (what editors and `validate` check against). */
import { readFileSync } from 'node:fs';
import { SCHEMA_PATH } from '../../paths.js';
import { ExitCode } from '../exit-codes.js';
import { InputError } from '../../errors.js';

export default async function schema(argv: string[]): Promise<number> {
  if (argv.length) throw new InputError(`trtpipe schema takes no arguments (got ${argv.join(' ')}); redirect its output to save it`);
  process.stdout.write(readFileSync(SCHEMA_PATH, 'utf8'));
  return ExitCode.Ok;
}
