/**
 * .trtpipe/history.jsonl: append one line per run, read them back. Lines are
 * appended with a single write in append mode, so concurrent runs in one state
 * folder do not interleave within a line; unreadable lines are skipped.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryEntry } from '../report/history.js';

export function historyFile(stateRoot: string): string {
  return path.join(stateRoot, 'history.jsonl');
}

export async function appendHistory(stateRoot: string, entry: HistoryEntry): Promise<void> {
  await mkdir(stateRoot, { recursive: true });
  await appendFile(historyFile(stateRoot), `${JSON.stringify(entry)}\n`, { flag: 'a' });
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
