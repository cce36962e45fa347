/**
 * Preflight: before any upload, check every cell against what its runner says it can do
 * (GetCapabilities): the backend is there; the cell's precision is one the backend runs on this
 * runner (the runner decides that for every GPU it has, from the shared vocabulary's compute
 * capabilities); the target's `require` holds (precisions, compute capability of every GPU,
 * TensorRT version); TensorRT's mode; free disk. Findings name the cell, target and reason.
 */
import type { Pipeline, Target } from '../config/types.js';
import { satisfies } from '../config/version-range.js';
import { PRECISION_INFO, type Precision } from '../gen/contract/vocabulary.js';
import type { Cell } from '../config/matrix.js';
import type { RunnerCapabilities, RunnerBackend } from '../runner-client/capabilities.js';

export interface PreflightFinding {
  severity: 'error' | 'warning';
  cell: string;
  target: string;
  message: string;
}

type Add = (severity: 'error' | 'warning', message: string) => void;

const MIN_FREE_DISK = 1 << 30;

export function preflight(p: Pipeline, cells: Cell[], caps: Map<string, RunnerCapabilities>): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  for (const cell of cells) {
    const t = p.targets.find((x) => x.name === cell.target)!;
    const c = caps.get(cell.target);
    if (!c) continue;
    const add: Add = (severity, message) => out.push({ severity, cell: cell.name, target: t.name, message });
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
    if (backend) requiredPrecisions(t, backend, add);
    if (backend && t.backend !== 'onnxruntime') gpuChecks(t, cell.precision, backend, c, add);
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

/** The precisions a target runs natively here (`numerics: emulated`: the emulated ones). */
function offered(t: Target, b: RunnerBackend): string[] {
  return t.numerics === 'emulated' ? b.emulatedPrecisions : b.precisions;
}

/** `require.precisions`: the runner must run each natively (what the schema promises). */
function requiredPrecisions(t: Target, b: RunnerBackend, add: Add) {
  const missing = (t.require.precisions ?? []).filter((x) => !offered(t, b).includes(x));
  if (missing.length) {
    add('error', `target requires ${missing.join(', ')}, which ${b.name} on this runner does not run ${t.numerics === 'emulated' ? 'emulated' : 'natively'} (it runs ${offered(t, b).join(', ') || 'none'})`);
  }
}

function gpuChecks(t: Target, precision: Precision, b: RunnerBackend, c: RunnerCapabilities, add: Add) {
  if (!c.gpus.length) {
    add('error', `backend ${t.backend} needs an NVIDIA GPU and the runner has none`);
    return;
  }
  const info = PRECISION_INFO[precision];
  const name = (g: RunnerCapabilities['gpus'][number]) => `GPU ${g.index} (${g.name}) is ${g.computeCapability}`;
  if (!b.precisions.includes(precision)) {
    // The runner's word decides; the vocabulary only says why, GPU by GPU.
    const old = info.minComputeCapability ? c.gpus.filter((g) => !satisfies(g.computeCapability, `>=${info.minComputeCapability}`)) : [];
    const why = old.length ? `: ${precision} needs compute capability ${info.minComputeCapability} or newer; ${old.map(name).join(', ')}` : '';
    add('error', `${precision} is not among the precisions ${b.name} runs on this runner (${b.precisions.join(', ') || 'none'})${why}`);
  }
  for (const g of c.gpus) {
    const slow = info.slowComputeCapabilities[g.computeCapability];
    if (slow) add('warning', `${g.name} (${g.computeCapability}): ${slow}: ${precision} will be slower`);
  }
  const range = t.require.compute_capability;
  const outside = range ? c.gpus.filter((g) => !satisfies(g.computeCapability, range)) : [];
  if (outside.length) add('error', `target requires compute capability ${range}; ${outside.map(name).join(', ')}`);
}

function trtChecks(t: Target, version: string, add: Add) {
  const major = Number(version.split('.')[0]);
  if (t.build.legacy_weak_typing && major >= 11) {
    add('error', `legacy_weak_typing needs TensorRT 10; the runner has ${version}, where every network is strongly typed (drop the setting: the annotated graph already carries the precision)`);
  }
  if (t.require.tensorrt && !satisfies(version, t.require.tensorrt)) {
    add('error', `target requires TensorRT ${t.require.tensorrt}; the runner has ${version}`);
  }
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
