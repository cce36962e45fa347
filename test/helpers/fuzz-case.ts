/**
 * One case of the loader fuzz test: mutate a corpus pipeline (seeded by the
 * case number, so any case replays alone), load it, and say what, if
 * anything, is wrong with the result. Shared by the test and its workers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TrtpipeError } from '../../src/errors.js';
import { pipelineFiles } from '../../src/cli/pipeline-files.js';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { loadPipelineText } from '../../src/config/load.js';
import { renderDiagnostic } from '../../src/config/render.js';
import { buildGraph } from '../../src/plan/graph.js';
import { expandMatrix } from '../../src/config/matrix.js';
import { mutate, rng } from './mutate.js';
import { ROOT } from './paths.js';

export const FUZZ_ENV = { TRTPIPE_FUZZ_SET: '3' };

export interface Corpus {
  file: string;
  text: string;
}

/** The valid pipelines the mutations start from: everything in pipelines/ and examples/. */
export function loadCorpus(): Corpus[] {
  return pipelineFiles([path.join(ROOT, 'pipelines'), path.join(ROOT, 'examples')]).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

export interface CaseResult {
  outcome: 'valid' | 'invalid' | 'user-error';
  /** Set when the loader misbehaved: what, and how to replay it. */
  problem?: string;
}

/** Why a diagnostic is not cleanly positioned in `text`, if it is not. */
function positionProblem(d: Diagnostic, text: string): string | undefined {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (!Number.isInteger(d.line) || d.line < 1 || d.line > lines.length + 1) return `line ${d.line} outside 1..${lines.length + 1}`;
  const line = lines[d.line - 1] ?? '';
  if (!Number.isInteger(d.col) || d.col < 1 || d.col > line.length + 2) return `col ${d.col} outside 1..${line.length + 2}`;
  if (!d.message || /undefined|\[object Object\]|NaN/.test(d.message + (d.hint ?? ''))) return `message '${d.message}' / hint '${d.hint}'`;
  if (d.severity !== 'error' && d.severity !== 'warning') return `severity ${String(d.severity)}`;
  return undefined;
}

export function runCase(corpus: Corpus[], seed: number, i: number): CaseResult {
  // Each case has its own generator, so cases are independent of how they are split up.
  const r = rng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const base = corpus[Math.floor(r() * corpus.length)]!;
  const { text, kinds } = mutate(base.text, r);
  const fail = (what: string): CaseResult => ({
    outcome: 'invalid',
    problem: `${what}\nreplay: TRTPIPE_FUZZ_SEED=${seed} TRTPIPE_FUZZ_CASE=${i} (${path.relative(ROOT, base.file)}, ${kinds.join(' + ')}); the text:\n${text}`,
  });
  let result;
  try {
    result = loadPipelineText(text, base.file, { cwd: ROOT, env: FUZZ_ENV });
  } catch (err) {
    if (err instanceof TrtpipeError) return { outcome: 'user-error' };
    return fail(`the loader threw: ${(err as Error).stack}`);
  }
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (result.pipeline && errors.length) return fail('a pipeline came back together with errors');
  if (!result.pipeline && !errors.length) return fail('neither a pipeline nor an error came back');
  if (result.pipeline) {
    try {
      buildGraph(result.pipeline, expandMatrix(result.pipeline));
    } catch (err) {
      return fail(`the planner threw on a pipeline the loader accepted: ${(err as Error).stack}`);
    }
  }
  for (const d of result.diagnostics) {
    const file = path.resolve(ROOT, d.file);
    const fileText = file === base.file ? text : readFileSync(file, 'utf8');
    const problem = positionProblem(d, fileText);
    if (problem) return fail(`${problem}: ${JSON.stringify(d)}`);
    try {
      renderDiagnostic(d, fileText, ROOT);
    } catch (err) {
      return fail(`rendering threw: ${(err as Error).stack}`);
    }
  }
  return { outcome: result.pipeline ? 'valid' : 'invalid' };
}
