/**
 * How a cell's latency was obtained, from what its benchmark recorded
 * (runner-py/trtpipe_runner/stages/benchmark_stage.py): the device and its
 * state, the timer and threads, iterations actually run and why timing
 * stopped, the warm-up, the exclusive lease, and whether anything else ran
 * on the device meanwhile. `latencyWarnings` says what makes a number
 * doubtful, in words a reader can act on.
 */
import { benchmarkOf } from './record-view.js';
import type { CellSummary, RunRecord } from '../gen/schema/run-record.js';

/** Other processes using more CPU than this (cores, on average) during timing shared the device. */
export const OTHER_CORES_WARN = 0.25;

export interface LatencyProvenance {
  device: string;
  kind: 'cpu' | 'gpu';
  /** "AMD EPYC, 2 cores, governor performance" or "NVIDIA H200, SM 1980/1980 MHz, 41 °C, 312/700 W". */
  hardware: string;
  timer: string;
  threads: string;
  /** Timed iterations run and asked for, over every batch and repeat; what stopped them. */
  iterations: { ran: number; requested: number; stoppedBy: string[] };
  warmup: { seconds: number; stable: boolean };
  lease: { waitSeconds: number; enforced: boolean; waitedFor: string[] };
  /** The most CPU other processes used during a timing loop (cores on average). */
  otherCores?: number;
  concurrentStages: string[];
  otherGpuProcesses: number[];
  gpuSlowdowns: string[];
  /** From an earlier run through the cache. */
  cached: boolean;
}

interface Window {
  iterations: number;
  requested: number;
  stopped_by: string;
  warmup_seconds: number;
  warmup_stable: boolean;
  other_cores?: number;
}

interface Details {
  timer?: string;
  threads?: Record<string, unknown>;
  timing?: Window[];
  device?: { name: string; kind: 'cpu' | 'gpu'; before?: DeviceState; after?: DeviceState };
  lease?: { wait_seconds: number; enforced: boolean; waited_for?: string[] };
  contention?: { concurrent_stages?: string[]; max_other_cores?: number | null; other_gpu_processes?: number[]; gpu_slowdowns?: string[] };
}

interface DeviceState {
  cpu?: { model?: string; logical_cores?: number; usable_cores?: number; governor?: string; mhz?: number };
  gpu?: { name?: string; sm_clock_mhz?: number; max_sm_clock_mhz?: number; temperature_c?: number; power_w?: number; power_limit_w?: number } | null;
}

/** Undefined for cells without a benchmark, or benchmarks recorded before provenance was. */
export function latencyProvenance(record: RunRecord, cell: CellSummary): LatencyProvenance | undefined {
  const stage = benchmarkOf(record, cell);
  const d = stage?.details as Details | undefined;
  if (!stage || stage.status !== 'done' || !d?.timing || !d.device || !d.lease) return undefined;
  const w = d.timing;
  const c = d.contention ?? {};
  return {
    device: d.device.name,
    kind: d.device.kind,
    hardware: hardware(d.device.kind, d.device.after ?? d.device.before),
    timer: d.timer ?? '?',
    threads: Object.entries(d.threads ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(', ') || '–',
    iterations: {
      ran: w.reduce((s, x) => s + x.iterations, 0),
      requested: w.reduce((s, x) => s + x.requested, 0),
      stoppedBy: [...new Set(w.map((x) => x.stopped_by))].sort(),
    },
    warmup: { seconds: w.reduce((s, x) => s + x.warmup_seconds, 0), stable: w.every((x) => x.warmup_stable) },
    lease: { waitSeconds: d.lease.wait_seconds, enforced: d.lease.enforced, waitedFor: d.lease.waited_for ?? [] },
    ...(typeof c.max_other_cores === 'number' ? { otherCores: c.max_other_cores } : {}),
    concurrentStages: c.concurrent_stages ?? [],
    otherGpuProcesses: c.other_gpu_processes ?? [],
    gpuSlowdowns: c.gpu_slowdowns ?? [],
    cached: Boolean(stage.cached),
  };
}

function hardware(kind: 'cpu' | 'gpu', s: DeviceState | undefined): string {
  const g = s?.gpu;
  if (kind === 'gpu' && g) {
    const parts = [g.name ?? 'GPU'];
    if (g.sm_clock_mhz !== undefined) parts.push(`SM ${g.sm_clock_mhz}${g.max_sm_clock_mhz ? `/${g.max_sm_clock_mhz}` : ''} MHz`);
    if (g.temperature_c !== undefined) parts.push(`${g.temperature_c} °C`);
    if (g.power_w !== undefined) parts.push(`${g.power_w}${g.power_limit_w ? `/${g.power_limit_w}` : ''} W`);
    return parts.join(', ');
  }
  if (kind === 'gpu') return 'GPU state not readable (no NVML, no nvidia-smi)';
  const cpu = s?.cpu;
  if (!cpu) return 'CPU';
  const cores = cpu.usable_cores !== undefined && cpu.usable_cores !== cpu.logical_cores ? `${cpu.usable_cores} of ${cpu.logical_cores}` : `${cpu.logical_cores}`;
  return [cpu.model ?? 'CPU', `${cores} cores`, ...(cpu.governor ? [`governor ${cpu.governor}`] : []), ...(cpu.mhz ? [`${cpu.mhz} MHz`] : [])].join(', ');
}

/** What makes this latency doubtful; empty when nothing does. */
export function latencyWarnings(p: LatencyProvenance): string[] {
  const out: string[] = [];
  if (!p.lease.enforced) out.push('timed without an exclusive device (the runner ran with TRTPIPE_DEVICE_LEASE=off)');
  if (p.concurrentStages.length) out.push(`other stages held ${p.kind === 'gpu' ? 'the host CPU' : 'the device'} meanwhile: ${p.concurrentStages.join(', ')}`);
  if (p.otherCores !== undefined && p.otherCores > OTHER_CORES_WARN) out.push(`other processes used ${p.otherCores.toFixed(2)} cores during timing`);
  if (p.otherGpuProcesses.length) out.push(`other processes on the GPU: ${p.otherGpuProcesses.join(', ')}`);
  if (p.gpuSlowdowns.length) out.push(`GPU clocks held down: ${p.gpuSlowdowns.join(', ')}`);
  if (!p.warmup.stable) out.push('the warm-up never became stable');
  if (p.iterations.stoppedBy.includes('max_seconds')) out.push(`benchmark.max_seconds cut timing short: ${p.iterations.ran} of ${p.iterations.requested} iterations`);
  return out;
}
