/**
 * `trtpipe runners [pipeline.yaml] [--json] [--hold <s>]`: every runner of the pipeline's targets and
 * what it can do; with --hold, whether a stage silent for that long survives the way to each.
 */
import path from 'node:path';
import { capabilitiesJson, type RunnerCapabilities } from '../../runner-client/capabilities.js';
import { PipelineRunnerPool } from '../../run/runner-pool.js';
import { ExitCode } from '../exit-codes.js';
import { describeHold, holdEach, type HoldOutcome } from '../hold-check.js';
import { parseOrExplain } from '../parse-args.js';
import { loadOrExit } from '../load-or-exit.js';
import { prepareLocalRunner } from '../local-runner-setup.js';
import { InputError, RunnerUnavailableError } from '../../errors.js';
import { stateRootOf } from '../state-root.js';

export default async function runners(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, 'state-dir': { type: 'string' }, python: { type: 'string' }, hold: { type: 'string' } },
  });
  const hold = values.hold !== undefined ? Number(values.hold) : undefined;
  if (hold !== undefined && !(hold > 0 && hold <= 7 * 24 * 3600)) throw new InputError(`--hold must be a number of seconds > 0 (at most a week), not '${values.hold}'`);
  const file = positionals[0] ?? 'pipelines/quickstart.yaml';
  const pipeline = await loadOrExit(file);
  const stateRoot = stateRootOf(values['state-dir']);
  await prepareLocalRunner(values.python, pipeline);
  const pool = new PipelineRunnerPool(pipeline, { stateRoot, logFile: path.join(stateRoot, 'logs', 'runners.log'), python: values.python, signal: new AbortController().signal });
  const rows: { target: string; address: string; caps: RunnerCapabilities }[] = [];
  const errors: string[] = [];
  let held: HoldOutcome[] = [];
  try {
    for (const t of pipeline.targets) {
      try {
        for (const h of await pool.start(t.name)) rows.push({ target: t.name, address: h.address, caps: h.capabilities });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    // One hold per runner: the local runner serves every local target.
    if (hold !== undefined) held = await holdEach([...new Map(pool.all().map((h) => [h.address, h])).values()], hold, new AbortController().signal);
  } finally {
    await pool.close();
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows.map((r) => ({ target: r.target, address: r.address, capabilities: capabilitiesJson(r.caps), ...holdOf(held, r.address) })), null, 2)}\n`);
  } else {
    for (const r of rows) process.stdout.write(`${describe(r.target, r.address, r.caps)}\n`);
    for (const o of held) process.stdout.write(`${describeHold(o, hold!)}\n`);
  }
  for (const e of errors) process.stderr.write(`trtpipe: ${e}\n`);
  if (!rows.length && errors.length) throw new RunnerUnavailableError('no runner answered');
  return errors.length || held.some((o) => !o.ok) ? ExitCode.RunnerUnavailable : ExitCode.Ok;
}

function holdOf(held: HoldOutcome[], address: string): { hold?: Omit<HoldOutcome, 'target' | 'address'> } {
  const o = held.find((x) => x.address === address);
  if (!o) return {};
  const { target: _t, address: _a, ...rest } = o;
  return { hold: rest };
}

/** Native precisions apart from those computed wider and those only emulated (numerics: emulated). */
export function precisionSupport(b: Pick<RunnerCapabilities['backends'][number], 'precisions' | 'widerPrecisions' | 'emulatedPrecisions'>): string[] {
  return [
    `native: ${b.precisions.join(' ') || 'none'}`,
    ...(b.widerPrecisions.length ? [`computed in fp32: ${b.widerPrecisions.join(' ')}`] : []),
    ...(b.emulatedPrecisions.length ? [`with numerics: emulated: ${b.emulatedPrecisions.join(' ')}`] : []),
  ];
}

function describe(target: string, address: string, c: RunnerCapabilities): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  const lines = [
    `${target}  ${address}  runner ${c.runnerVersion} on ${c.hostname} (${c.cpuCount} CPUs, ${gib(c.memoryBytes)} memory, ${gib(c.freeDiskBytes)} free disk)`,
  ];
  for (const g of c.gpus) lines.push(`  gpu ${g.index}: ${g.name}, compute capability ${g.computeCapability}, ${gib(g.memoryBytes)}, driver ${g.driverVersion}${g.cudaVersion ? `, CUDA ${g.cudaVersion}` : ''}`);
  if (!c.gpus.length) lines.push('  no GPU');
  for (const b of c.backends) {
    lines.push(`  ${b.name.padEnd(12)} ${b.available ? `${b.version.padEnd(10)} ${precisionSupport(b).join('; ')}` : `unavailable: ${b.unavailableReason}`}`);
  }
  const v = Object.entries(c.versions).map(([k, x]) => `${k} ${x}`).join(', ');
  if (v) lines.push(`  versions: ${v}`);
  return lines.join('\n');
}
