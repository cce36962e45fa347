/**
 * What a runner can do (GetCapabilities), as the rest of trtpipe sees it: plain data, no
 * generated protobuf classes, so nothing outside runner-client/ loads gRPC to read it (a fully
 * cached run reads the local runner's remembered capabilities without starting one).
 */

export interface RunnerBackend {
  /** onnxruntime | tensorrt | torch */
  name: string;
  available: boolean;
  version: string;
  unavailableReason: string;
  /** Precisions it builds and computes in their own type here (for every GPU of the runner). */
  precisions: string[];
  /** Precisions it builds but computes in a wider type (ONNX Runtime's CPU provider). */
  widerPrecisions: string[];
  /** Precisions it offers with `numerics: emulated`. */
  emulatedPrecisions: string[];
}

export interface RunnerGpu {
  index: number;
  name: string;
  /** "9.0" */
  computeCapability: string;
  memoryBytes: number;
  driverVersion: string;
  cudaVersion: string;
}

export interface RunnerCapabilities {
  runnerVersion: string;
  /** `trtpipe.runner.v<major>.<minor>` */
  protocol: string;
  backends: RunnerBackend[];
  gpus: RunnerGpu[];
  /** python, onnx, onnxruntime, numpy, ... */
  versions: Record<string, string>;
  hostname: string;
  cpuCount: number;
  freeDiskBytes: number;
  memoryBytes: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * Capabilities from their JSON (`capabilitiesJson`, or protobuf's JSON mapping, which leaves out
 * default values): every field present, defaults where the JSON has none.
 */
export function capabilitiesFromJson(value: unknown): RunnerCapabilities {
  const v = obj(value);
  return {
    runnerVersion: str(v.runnerVersion),
    protocol: str(v.protocol),
    backends: (Array.isArray(v.backends) ? v.backends : []).map((x) => {
      const b = obj(x);
      return {
        name: str(b.name),
        available: b.available === true,
        version: str(b.version),
        unavailableReason: str(b.unavailableReason),
        precisions: strs(b.precisions),
        widerPrecisions: strs(b.widerPrecisions),
        emulatedPrecisions: strs(b.emulatedPrecisions),
      };
    }),
    gpus: (Array.isArray(v.gpus) ? v.gpus : []).map((x) => {
      const g = obj(x);
      return {
        index: num(g.index),
        name: str(g.name),
        computeCapability: str(g.computeCapability),
        memoryBytes: num(g.memoryBytes),
        driverVersion: str(g.driverVersion),
        cudaVersion: str(g.cudaVersion),
      };
    }),
    versions: Object.fromEntries(Object.entries(obj(v.versions)).map(([k, x]) => [k, str(x)])),
    hostname: str(v.hostname),
    cpuCount: num(v.cpuCount),
    freeDiskBytes: num(v.freeDiskBytes),
    memoryBytes: num(v.memoryBytes),
  };
}

/** Capabilities as JSON, default values left out (as protobuf's JSON mapping writes them). */
export function capabilitiesJson(c: RunnerCapabilities): Record<string, unknown> {
  return compact(c) as Record<string, unknown>;
}

function compact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(compact);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const c = compact(x);
      const empty =
        c === '' ||
        c === 0 ||
        c === false ||
        (Array.isArray(c) && !c.length) ||
        (c && typeof c === 'object' && !Array.isArray(c) && !Object.keys(c).length);
      if (!empty) out[k] = c;
    }
    return out;
  }
  return v;
}
