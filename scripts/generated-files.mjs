/**
 * Writing generated files, or (`--check`, as npm test runs it) failing when any committed one differs
 * from what its generator makes now: the one mechanism behind gen-schema.mjs and gen-contract.mjs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * @param {{ tool: string, command: string, source: string, root: string, outputs: [string, string][] }} o
 *   tool: the message prefix (`gen-schema`); command: the npm script that regenerates (`gen:schema`);
 *   source: what the files are made from, as the success line names it; outputs: [file, text] pairs.
 */
export function writeOrCheck({ tool, command, source, root, outputs }) {
  const rel = (file) => path.relative(root, file);
  if (!process.argv.includes('--check')) {
    for (const [file, text] of outputs) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`${tool}: wrote ${rel(file)}`);
    }
    return;
  }
  let stale = 0;
  for (const [file, text] of outputs) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // not generated yet: stale
    }
    if (current !== text) {
      stale += 1;
      console.error(`${tool}: ${rel(file)} is stale; run 'npm run ${command}' and commit`);
    }
  }
  if (stale) process.exit(1);
  console.log(`${tool}: generated code matches ${source}`);
}
