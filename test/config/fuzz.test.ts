/**
 * Property test of the loader: thousands of random mutations of the valid
 * pipelines in pipelines/ and examples/ (test/helpers/mutate.ts) never crash
 * it. Every result is either a pipeline (which the planner accepts) or
 * errors, each positioned inside the file it names, and every diagnostic
 * renders. Seeded and split over worker threads (one per core, at most 4);
 * TRTPIPE_FUZZ_SEED / TRTPIPE_FUZZ_RUNS widen it, TRTPIPE_FUZZ_CASE replays one case.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadPipelineText } from '../../src/config/load.js';
import { FUZZ_ENV, loadCorpus, runCase } from '../helpers/fuzz-case.js';

const SEED = Number(process.env.TRTPIPE_FUZZ_SEED ?? 20261129);
const RUNS = Number(process.env.TRTPIPE_FUZZ_RUNS ?? 2000);
const ONE = process.env.TRTPIPE_FUZZ_CASE;

test('the corpus of valid pipelines loads cleanly', () => {
  const corpus = loadCorpus();
  assert.ok(corpus.length >= 4, `corpus: ${corpus.map((c) => c.file).join(', ')}`);
  for (const c of corpus) {
    const r = loadPipelineText(c.text, c.file, { env: FUZZ_ENV });
    assert.ok(r.pipeline, `${c.file}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  }
});

if (ONE !== undefined) {
  test(`fuzz case ${ONE} (seed ${SEED})`, () => {
    const r = runCase(loadCorpus(), SEED, Number(ONE));
    assert.not.ok(r.problem, r.problem);
  });
} else {
  test(`${RUNS} random mutations never crash the loader; results are clean (seed ${SEED})`, async () => {
    const workers = Math.max(1, Math.min(4, availableParallelism()));
    const per = Math.ceil(RUNS / workers);
    const parts = await Promise.all(
      Array.from({ length: workers }, (_, w) => new Promise<{ counts: Record<string, number>; problems: string[] }>((resolve, reject) => {
        const worker = new Worker(new URL('../helpers/fuzz-worker.js', import.meta.url), {
          workerData: { seed: SEED, from: w * per, to: Math.min(RUNS, (w + 1) * per) },
        });
        worker.once('message', resolve);
        worker.once('error', reject);
      })),
    );
    const counts = { valid: 0, invalid: 0, 'user-error': 0 } as Record<string, number>;
    for (const p of parts) for (const [k, v] of Object.entries(p.counts)) counts[k]! += v;
    const problems = parts.flatMap((p) => p.problems);
    assert.ok(!problems.length, `${problems.length} bad result(s); the first:\n${problems[0]}`);
    assert.is(counts.valid! + counts.invalid! + counts['user-error']!, RUNS);
    // The mutator must reach both outcomes, or it tests only one side.
    assert.ok(counts.valid! > RUNS / 50 && counts.invalid! > RUNS / 2, JSON.stringify(counts));
  });
}

test.run();
