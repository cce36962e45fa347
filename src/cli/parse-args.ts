/** node:util parseArgs with errors turned into user errors that point at --help. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../errors.js';

export function parseOrExplain<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new InputError(`${(err as Error).message}; see trtpipe --help`);
  }
}
