/**
 * .trtpipe/history.jsonl: append one line per run, read them back. Lines are
 * appended with a single write in append mode, so concurrent runs in one state
 * folder do not interleave within a line; unreadable lines are skipped.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { maskEnvValues } from '../config/env-values.js';

export function historyFile(stateRoot: string): string {
  return path.join(stateRoot, 'history.jsonl');
}

export async function appendHistory(stateRoot: string, entry: HistoryEntry): Promise<void> {
  await mkdir(stateRoot, { recursive: true });
  await appendFile(historyFile(stateRoot), maskEnvValues(`${JSON.stringify(entry)}\n`), { flag: 'a' });
}

/** Every readable entry, in file order; `skipped` counts lines that did not parse. */
export async function readHistory(stateRoot: string): Promise<{ entries: HistoryEntry[]; skipped: number }> {
  let text: string;
  try {
    text = await readFile(historyFile(stateRoot), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: 0 };
    throw err;
  }
  const entries: HistoryEntry[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as HistoryEntry;
      if (typeof e.id === 'string' && typeof e.pipeline === 'string' && e.cells && typeof e.cells === 'object') entries.push(e);
      else skipped += 1;
    } catch {
      // A line cut short by a crash mid-write: the rest of the history stays usable.
      skipped += 1;
    }
  }
  return { entries, skipped };
}

export interface HistoryCell {
  precision: string;
  target: string;
  status: string;
  /** The runner's host name: run-to-run noise is only learnt from runs on the same host. */
  host?: string;
  /** Per batch size: p50, p90 and p99 (ms). */
  latency: Record<string, { p50?: number; p90?: number; p99?: number }>;
  top1?: number;
  cosine?: number;
  rel_p99?: number;
  engine_bytes?: number;
}

export interface HistoryEntry {
  id: string;
  time: string;
  pipeline: string;
  status: string;
  commit?: string;
  baseline?: string;
  gates?: { passed: number; failed: number; skipped: number };
  cells: Record<string, HistoryCell>;
}
