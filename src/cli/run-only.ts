/**
 * Runs part of a pipeline's graph for a command that needs a stage's result
 * rather than a run folder (`lock`: the transforms; `search`: the search):
 * plain progress on stderr, Ctrl-C cancels, failures printed and mapped to an
 * exit code.
 */
import type { Pipeline } from '../config/types.js';
import type { StageNode } from '../plan/graph.js';
import { executePipeline, type ExecuteResult } from '../run/execute.js';
import { failureKind } from '../run/failure-kind.js';
import { ExitCode, exitCodeOfFailures } from './exit-codes.js';
import { prepareLocalRunner } from './local-runner-setup.js';
import { plaintextTokenWarnings } from './plaintext-warning.js';
import { plainProgress } from './progress/plain.js';

export interface RunOnlyOptions {
  stateRoot: string;
  python?: string;
  verbose?: boolean;
  useCache?: boolean;
  /** A committed search result to use instead of searching (cli/committed-search.ts). */
  searchKeep?: { towards: string; kept: string[] };
}

/** The result, or the exit code to end with (interrupted, or a stage failed: already reported). */
export async function runOnly(pipeline: Pipeline, only: (n: StageNode) => boolean, opts: RunOnlyOptions): Promise<ExecuteResult | number> {
  for (const w of plaintextTokenWarnings(pipeline)) process.stderr.write(`${w}\n`);
  await prepareLocalRunner(opts.python, pipeline);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  const progress = plainProgress((s) => process.stderr.write(s), Boolean(opts.verbose));
  try {
    const result = await executePipeline(pipeline, {
      stateRoot: opts.stateRoot,
      python: opts.python,
      signal: controller.signal,
      only,
      writeRun: false,
      useCache: opts.useCache ?? true,
      ...(opts.searchKeep ? { searchKeep: opts.searchKeep } : {}),
      onEvent: (e) => {
        if (e.type === 'preflight') process.stderr.write(`trtpipe: warning: ${e.finding.cell}: ${e.finding.message}\n`);
        else if (e.type !== 'planned' && e.type !== 'runners-ready' && e.type !== 'run-started') progress.event(e);
      },
    });
    if (result.outcome.interrupted) return ExitCode.Interrupted;
    const failures = [...result.outcome.failures];
    if (!failures.length) return result;
    for (const [node, f] of failures) process.stderr.write(`trtpipe: ${node} failed: ${f.message}\n`);
    return exitCodeOfFailures(failures.map(([node, f]) => failureKind(node, f)));
  } finally {
    process.off('SIGINT', onSignal);
  }
}
