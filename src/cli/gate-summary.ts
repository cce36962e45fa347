import type { GateReport } from '../gen/schema/run-record.js';
/** What `trtpipe run` and `trtpipe compare` print about the gates. */

/** Lines for the terminal: a summary, then one line per failed check. */
export function gateSummary(g: GateReport): string[] {
  if (!g.checks.length) return [];
  const against = g.baseline ? ` against baseline ${g.baseline.name ?? g.baseline.id}` : '';
  const lines = [`gates${against}: ${g.failed ? `${g.failed} FAILED, ` : ''}${g.passed} passed${g.skipped ? `, ${g.skipped} skipped` : ''}`];
  for (const c of g.checks.filter((x) => x.status === 'fail')) lines.push(`  FAIL ${c.gate} ${c.name}: ${c.message}`);
  const noBaseline = g.checks.filter((c) => c.status === 'skip' && c.against === 'none' && /no baseline/.test(c.message));
  if (noBaseline.length) lines.push(`  ${noBaseline.length} check(s) need a baseline: trtpipe run ... --baseline NAME`);
  return lines;
}
