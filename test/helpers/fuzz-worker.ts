/** Worker thread for the fuzz test: runs cases [from, to) and posts their results. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadCorpus, runCase, type CaseResult } from './fuzz-case.js';

const { seed, from, to } = workerData as { seed: number; from: number; to: number };
const corpus = loadCorpus();
const counts = { valid: 0, invalid: 0, 'user-error': 0 };
const problems: string[] = [];
for (let i = from; i < to; i++) {
  const r: CaseResult = runCase(corpus, seed, i);
  counts[r.outcome] += 1;
  if (r.problem && problems.length < 3) problems.push(r.problem);
}
parentPort!.postMessage({ counts, problems });
