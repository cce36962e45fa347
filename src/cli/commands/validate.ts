/** `trtpipe validate [files...]`: all of pipelines/ by default. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadPipeline } from '../../config/load.js';
import { renderDiagnostics } from '../../config/render.js';
import { ExitCode } from '../exit-codes.js';
import { UserError } from '../user-error.js';

export default async function validate(argv: string[]): Promise<number> {
  let files = argv.filter((a) => !a.startsWith('-'));
  if (!files.length) {
    try {
      files = readdirSync('pipelines').filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join('pipelines', f));
    } catch {
      throw new UserError('no files given and no pipelines/ folder here');
    }
  }
  let errors = 0;
  for (const file of files) {
    const { diagnostics } = await loadPipeline(file);
    const n = diagnostics.filter((d) => d.severity === 'error').length;
    errors += n;
    if (diagnostics.length) process.stderr.write(`${renderDiagnostics(diagnostics)}\n\n`);
    process.stdout.write(`${file}: ${n ? `${n} error(s)` : 'ok'}\n`);
  }
  return errors ? ExitCode.InvalidInput : ExitCode.Ok;
}
