/**
 * bench/validate: wall time of one `trtpipe validate` process checking 50
 * pipelines (process start included), median of several runs. Target: under
 * 1 s on 2 cores. The 50 files are variants of the committed pipelines
 * (pipelines/ and examples/, one of them extending another), written to a
 * temporary folder with absolute paths. Also reports what compiling the
 * schema at start-up would add (the cost ajv standalone code removes).
 *
 *   node dist/bench/validate.js [--runs 11] [--files 50]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pipelineFiles } from '../src/cli/pipeline-files.js';
import { SCHEMA_PATH } from '../src/paths.js';
import { CLI, ROOT } from '../test/helpers/paths.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '11' }, files: { type: 'string', default: '50' } } });
const runs = Number(values.runs);
const count = Number(values.files);
const TARGET_MS = 1000;

/** A pipeline's text with relative paths made absolute, so it validates from any folder. */
function absolutize(file: string, text: string, name: string): string {
  const dir = path.dirname(file);
  return text
    .replace(/^name: .*$/m, `name: ${name}`)
    .replace(/((?:path|npz|dir|extends): )(\.\.?\/[^\s,}]+)/g, (_, key: string, rel: string) => `${key}${path.resolve(dir, rel)}`);
}

const corpus = pipelineFiles([path.join(ROOT, 'pipelines'), path.join(ROOT, 'examples')]);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'trtpipe-bench-validate-'));
for (let i = 0; i < count; i++) {
  const src = corpus[i % corpus.length]!;
  writeFileSync(path.join(tmp, `p${String(i).padStart(2, '0')}.yaml`), absolutize(src, readFileSync(src, 'utf8'), `bench-${i}`));
}

function time(args: string[], check = true): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    out.push(performance.now() - t0);
    if (check && r.status !== 0) throw new Error(`trtpipe ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
    if (check && !r.stdout.includes(`${count} files: ${count} valid`)) throw new Error(`unexpected output:\n${r.stdout}`);
  }
  return out.sort((a, b) => a - b);
}

const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!;
try {
  const validate = time(['validate', tmp]);
  const version = time(['--version'], false);
  // What compiling the schema on every start would cost (ajv 2020, the same options).
  const require = createRequire(import.meta.url);
  const compile: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const Ajv2020 = require('ajv/dist/2020').default as typeof import('ajv').default;
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
    compile.push(performance.now() - t0);
  }
  compile.sort((a, b) => a - b);
  const m = med(validate);
  console.log(`bench/validate: ${count} pipelines, one process each run, median of ${runs} (${os.availableParallelism()} cores)`);
  console.log(`  trtpipe validate <50 files>  ${m.toFixed(0)} ms   (min ${validate[0]!.toFixed(0)}, max ${validate[validate.length - 1]!.toFixed(0)}; target < ${TARGET_MS} ms: ${m < TARGET_MS ? 'met' : 'MISSED'})`);
  console.log(`  trtpipe --version            ${med(version).toFixed(0)} ms   (process start, no pipeline code loaded)`);
  console.log(`  per file, beyond start       ${((m - med(version)) / count).toFixed(1)} ms`);
  console.log(`  ajv compile of the schema    ${med(compile).toFixed(0)} ms   (in-process, warm; saved at start-up by the standalone validator)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
