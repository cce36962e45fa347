/**
 * Preflight: before any upload, check every cell against its runner's
 * capabilities: backend present, precision possible on the GPU, TensorRT
 * version and mode, free disk. Findings name the cell, target and reason.
 */
import type { Pipeline, Target } from '../config/types.js';
import type { GetCapabilitiesResponse } from '../gen/trtpipe/runner/v1/runner.js';
import type { Cell } from '../plan/matrix.js';

export interface PreflightFinding {
  severity: 'error' | 'warning';
  cell: string;
  target: string;
  message: string;
}

/** Minimum compute capability per precision on NVIDIA GPUs (docs/architecture.md sources). */
const MIN_CC: Record<string, number> = { bf16: 8.0, fp8: 8.9, int8: 7.5 };
const MIN_FREE_DISK = 1 << 30;

export function preflight(p: Pipeline, cells: Cell[], caps: Map<string, GetCapabilitiesResponse>): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  for (const cell of cells) {
    const t = p.targets.find((x) => x.name === cell.target)!;
    const c = caps.get(cell.target);
    if (!c) continue;
    const add = (severity: 'error' | 'warning', message: string) => out.push({ severity, cell: cell.name, target: t.name, message });
    const backend = c.backends.find((b) => b.name === t.backend);
    // torch on the CPU (build.device: cpu, for testing) needs torch installed, not a GPU.
    if (torchOnCpu(t)) {
      if (!backend?.version) add('error', `backend torch is not available on the runner: ${backend?.unavailableReason || 'torch is not installed'}`);
      continue;
    }
    if (t.backend !== 'auto' && !backend?.available) {
      add('error', `backend ${t.backend} is not available on the runner: ${backend?.unavailableReason || 'unknown backend'}`);
      continue;
    }
    if (t.backend !== 'onnxruntime' || t.numerics === 'native') gpuChecks(t, cell, c, add);
    if (t.backend === 'tensorrt' && backend) trtChecks(t, backend.version, add);
    if (c.freeDiskBytes && c.freeDiskBytes < MIN_FREE_DISK) {
      add('warning', `only ${(c.freeDiskBytes / 2 ** 20).toFixed(0)} MiB free in the runner's store`);
    }
  }
  return dedupe(out);
}

function torchOnCpu(t: Target): boolean {
  return t.backend === 'torch' && t.build.device === 'cpu';
}

function gpuChecks(t: Target, cell: Cell, c: GetCapabilitiesResponse, add: (s: 'error' | 'warning', m: string) => void) {
  if (t.backend === 'onnxruntime') return; // CPU: every precision runs (emulated or in fp32)
  const gpu = c.gpus[0];
  if (!gpu) {
    add('error', `backend ${t.backend} needs an NVIDIA GPU and the runner has none`);
    return;
  }
  const cc = Number(gpu.computeCapability);
  const need = MIN_CC[cell.precision];
  if (need !== undefined && cc < need) {
    add('error', `${cell.precision} needs compute capability >= ${need}; ${gpu.name} is ${gpu.computeCapability}`);
  }
  if (cell.precision === 'fp16' && cc === 6.1) {
    add('warning', `${gpu.name} (6.1) computes fp16 at a small fraction of its fp32 rate: fp16 will be slower`);
  }
  if (t.require.compute_capability && !compare(cc, t.require.compute_capability)) {
    add('error', `target requires compute capability ${t.require.compute_capability}; ${gpu.name} is ${gpu.computeCapability}`);
  }
}

function trtChecks(t: Target, version: string, add: (s: 'error' | 'warning', m: string) => void) {
  const major = Number(version.split('.')[0]);
  if (t.build.legacy_weak_typing && major >= 11) {
    add('error', `legacy_weak_typing needs TensorRT 10; the runner has ${version}, where every network is strongly typed (drop the setting: the annotated graph already carries the precision)`);
  }
  if (t.require.tensorrt && !inRange(version, t.require.tensorrt)) {
    add('error', `target requires TensorRT ${t.require.tensorrt}; the runner has ${version}`);
  }
}

/** `>=8.9`, `<9`, `8.6` (==). */
export function compare(value: number, spec: string): boolean {
  const m = /^(>=|<=|>|<|==)?\s*([0-9.]+)$/.exec(spec.trim());
  if (!m) return false;
  const v = Number(m[2]);
  switch (m[1] ?? '==') {
    case '>=': return value >= v;
    case '<=': return value <= v;
    case '>': return value > v;
    case '<': return value < v;
    default: return value === v;
  }
}

/** A space-separated list of comparisons on dotted versions: ">=10.12 <12". */
export function inRange(version: string, range: string): boolean {
  return range.split(/\s+/).filter(Boolean).every((part) => {
    const m = /^(>=|<=|>|<|==)?([0-9.]+)$/.exec(part);
    if (!m) return false;
    const c = cmpVersion(version, m[2]!);
    switch (m[1] ?? '==') {
      case '>=': return c >= 0;
      case '<=': return c <= 0;
      case '>': return c > 0;
      case '<': return c < 0;
      default: return c === 0;
    }
  });
}

function cmpVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

function dedupe(fs: PreflightFinding[]): PreflightFinding[] {
  const seen = new Set<string>();
  return fs.filter((f) => {
    const k = `${f.cell}|${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
