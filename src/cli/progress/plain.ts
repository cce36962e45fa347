/**
 * Line-by-line progress for logs and non-TTY output (and --verbose): one line
 * per stage event, prefixed with the elapsed time.
 */
import type { SchedulerEvent } from '../../run/events.js';
import { describeLease } from '../../run/leases.js';
import type { ProgressSink } from './sink.js';

export function plainProgress(write: (s: string) => void, verbose: boolean): ProgressSink {
  const t0 = performance.now();
  const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  const lastPct = new Map<string, number>();
  return {
    event(e: SchedulerEvent) {
      switch (e.type) {
        case 'upload':
          if (verbose) write(`${stamp()} upload ${e.file} -> ${e.target}: ${e.skipped ? 'already there' : `${(e.bytes / 1048576).toFixed(2)} MiB in ${e.seconds.toFixed(2)}s`}\n`);
          break;
        case 'stage-start':
          write(`${stamp()} ${e.node.padEnd(28)} started\n`);
          break;
        case 'stage-progress': {
          if (!verbose) break;
          const pct = Math.floor(e.fraction * 10);
          if (lastPct.get(e.node) === pct) break;
          lastPct.set(e.node, pct);
          write(`${stamp()} ${e.node.padEnd(28)} ${(e.fraction * 100).toFixed(0)}% ${e.message}\n`);
          break;
        }
        case 'stage-lease':
          if (verbose) write(`${stamp()} ${e.node.padEnd(28)} ${describeLease(e.lease)}\n`);
          break;
        case 'stage-log':
          if (verbose || e.level === 'warning' || e.level === 'error') write(`${stamp()} ${e.node.padEnd(28)} ${e.level}: ${e.message}\n`);
          break;
        case 'stage-done':
          write(`${stamp()} ${e.node.padEnd(28)} done in ${e.result.seconds.toFixed(2)}s${e.result.cached ? ' (cached)' : ''}\n`);
          for (const d of e.result.diagnostics) {
            if (d.level === 'warning' || d.level === 'error') write(`${stamp()} ${e.node.padEnd(28)} ${d.level}: ${d.message}\n`);
          }
          break;
        case 'stage-failed':
          write(`${stamp()} ${e.node.padEnd(28)} FAILED: ${e.failure.message}\n`);
          break;
        case 'stage-skipped':
          write(`${stamp()} ${e.node.padEnd(28)} skipped (${e.reason})\n`);
          break;
      }
    },
    async done() {},
  };
}
