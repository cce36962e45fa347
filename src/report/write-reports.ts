/**
 * Finishing a run folder: provenance into the record, comparison with the
 * baseline and the gates, then report.md, report.html and junit.xml (run.json
 * and the history line follow, run/execute.ts). `trtpipe run` calls
 * writeReports once the run folder exists; `trtpipe report` calls
 * renderReports to re-render a folder from its run.json.
 */
import path from 'node:path';
import type { Pipeline } from '../config/types.js';
import { maskEnvValues } from '../config/env-values.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { Baseline } from '../store/baselines.js';
import { readHistory } from '../store/history.js';
import { addProvenance } from '../store/provenance.js';
import { compareRuns } from './compare.js';
import { evaluateGates } from './gates.js';
import { historyEntry, historyFor } from './history.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderRunMarkdown } from './markdown.js';
import type { GateReport, RunRecord } from '../gen/schema/run-record.js';
import type { HistoryEntry } from '../store/history.js';

export interface ReportContext {
  pipeline: Pipeline;
  /** The state folder (.trtpipe): history.jsonl lives there. */
  stateRoot: string;
  /** The folder the record's input paths are relative to. */
  cwd: string;
  baseline?: Baseline;
}

export interface ReportsResult {
  gates: GateReport;
  files: string[];
  /** The run's line for history.jsonl, appended once the run folder is complete (absent for an interrupted run). */
  history?: HistoryEntry;
}

/**
 * Completes `record` (provenance, baseline comparison, gates) and renders its reports into
 * `runDir`. run.json is written after this, by the caller (store/run-record.ts completeRunDir),
 * and history.jsonl last of all, so that history never names a run whose folder is incomplete.
 */
export async function writeReports(runDir: string, record: RunRecord, ctx: ReportContext): Promise<ReportsResult> {
  await addProvenance(record, ctx.pipeline, ctx.cwd);
  const { entries } = await readHistory(ctx.stateRoot);
  if (ctx.baseline) record.comparison = compareRuns(ctx.baseline.record, record, ctx.baseline.name, entries);
  record.gates = evaluateGates(ctx.pipeline.gates, record, record.comparison);
  const entry = historyEntry(record);
  const files = await renderReports(runDir, record, [...entries, entry]);
  // An interrupted run's numbers are partial: it is reported, not added to the trends.
  return { gates: record.gates, files, ...(record.status !== 'interrupted' ? { history: entry } : {}) };
}

/** Writes report.md, report.html and junit.xml of `record` into `dir`; returns their paths. */
export async function renderReports(dir: string, record: RunRecord, history: HistoryEntry[]): Promise<string[]> {
  const outputs: [string, string][] = [
    ['report.md', renderRunMarkdown(record)],
    ['report.html', renderHtml(record, { history: historyFor(record, history) })],
    ['junit.xml', renderJunit(record)],
  ];
  for (const [name, text] of outputs) await writeFileAtomic(path.join(dir, name), maskEnvValues(text));
  return outputs.map(([name]) => path.join(dir, name));
}
