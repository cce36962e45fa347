/**
 * bench/report: render time and size of the reports for a 12-cell matrix of
 * 200-node models (acceptance: report.html in under 1 s and under 2 MB).
 * The record is synthetic (test/helpers/synthetic-record.ts) but shaped like
 * a real one: lock and explain rows for every node, repeated benchmarks,
 * provenance, a baseline comparison, gates and 30 runs of history.
 *
 *   node dist/bench/report.js [--nodes 200] [--out bench/out]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { historyFor } from '../src/report/history.js';
import { renderHtml } from '../src/report/html.js';
import { renderJunit } from '../src/report/junit.js';
import { renderRunMarkdown } from '../src/report/markdown.js';
import { ROOT } from '../test/helpers/paths.js';
import { syntheticReport } from '../test/helpers/synthetic-record.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, 'bench', 'out') }, rounds: { type: 'string', default: '5' } } });
const { record, history } = syntheticReport();
const nodes = (record.stages.inspect!.details!.nodes as unknown[]).length;

function time<T>(fn: () => T): { ms: number[]; result: T } {
  const ms: number[] = [];
  let result!: T;
  for (let i = 0; i < Number(values.rounds); i++) {
    const t0 = performance.now();
    result = fn();
    ms.push(performance.now() - t0);
  }
  return { ms, result };
}

const html = time(() => renderHtml(record, { history: historyFor(record, history) }));
const md = time(() => renderRunMarkdown(record));
const junit = time(() => renderJunit(record));
mkdirSync(values.out!, { recursive: true });
writeFileSync(path.join(values.out!, 'report.html'), html.result);
writeFileSync(path.join(values.out!, 'report.md'), md.result);
writeFileSync(path.join(values.out!, 'junit.xml'), junit.result);
const fmtMs = (ms: number[]) => `first ${ms[0]!.toFixed(1)} ms, best ${Math.min(...ms).toFixed(1)} ms`;
const kib = (s: string) => `${(Buffer.byteLength(s) / 1024).toFixed(0)} KiB`;
console.log(`bench/report: ${record.cells.length} cells, ${nodes}-node model, ${history.length} runs of history`);
console.log(`  report.html  ${fmtMs(html.ms).padEnd(32)} ${kib(html.result).padStart(9)}   (limits: 1000 ms, 2048 KiB)`);
console.log(`  report.md    ${fmtMs(md.ms).padEnd(32)} ${kib(md.result).padStart(9)}   (GitHub comment limit: 64 KiB)`);
console.log(`  junit.xml    ${fmtMs(junit.ms).padEnd(32)} ${kib(junit.result).padStart(9)}`);
console.log(`  written to ${path.relative(process.cwd(), values.out!) || values.out}`);
const ok = html.ms[0]! < 1000 && Buffer.byteLength(html.result) < 2 * 1024 * 1024;
if (!ok) process.exitCode = 1;
