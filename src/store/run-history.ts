/**
 * Reading past runs: the newest run record that used a target tells what its
 * runner was (runner version, backends, GPUs), which `trtpipe plan` needs to
 * compute cache keys without asking the runner.
 */
import { readdirSync } from 'node:fs';
import { RECORD_FILE_LIMIT, readUserText } from '../user-files.js';
import path from 'node:path';
import type { RunnerFacts } from '../plan/target-identity.js';
import type { RunRecord } from '../gen/schema/run-record.js';

/** Only the newest runs are read: old records describe runners that have likely changed. */
const MAX_RUNS_READ = 50;

export interface PastRunner {
  runId: string;
  facts: RunnerFacts;
}

/**
 * For each target name, the runner facts of the newest run that recorded it.
 * @param runsDir `<state-dir>/runs`
 */
export function lastRunners(runsDir: string, targets: string[]): Map<string, PastRunner> {
  const found = new Map<string, PastRunner>();
  let ids: string[];
  try {
    // Run ids sort by time; names starting with '.' are folders still being written.
    ids = readdirSync(runsDir).filter((n) => !n.startsWith('.')).sort().reverse().slice(0, MAX_RUNS_READ);
  } catch {
    return found;
  }
  for (const id of ids) {
    if (found.size === targets.length) break;
    let record: Partial<RunRecord>;
    try {
      record = JSON.parse(readUserText(path.join(runsDir, id, 'run.json'), 'run record', RECORD_FILE_LIMIT)) as Partial<RunRecord>;
    } catch {
      continue;
    }
    for (const t of targets) {
      const r = record.runners?.[t];
      if (found.has(t) || !r) continue;
      found.set(t, {
        runId: id,
        facts: {
          runnerVersion: r.runnerVersion,
          backends: (r.backends ?? []) as RunnerFacts['backends'],
          gpus: (r.gpus ?? []) as RunnerFacts['gpus'],
        },
      });
    }
  }
  return found;
}
