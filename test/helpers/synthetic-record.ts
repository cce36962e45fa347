/**
 * A synthetic run record at the size the acceptance criteria name: a 12-cell
 * matrix (4 precisions x 3 targets) of a 200-node transformer-like model,
 * with lock and explain rows for every node, repeated benchmarks, provenance,
 * a baseline comparison and gates. Shapes follow real records (the stage
 * results of pipelines/quickstart.yaml); numbers come from a seeded generator.
 * Used by bench/report.ts and the report rendering tests.
 */
import { compareRuns } from '../../src/report/compare.js';
import { evaluateGates } from '../../src/report/gates.js';
import { historyEntry } from '../../src/report/history.js';
import type { GraphNode } from '../../src/report/record-view.js';

import { seeded } from './random.js';
import type { CellSummary, RunRecord, StageRecord } from '../../src/gen/schema/run-record.js';
import type { HistoryEntry } from '../../src/store/history.js';

export { seeded };

/** Encoder blocks (attention + MLP, decomposed LayerNorm, shape plumbing) until `count` nodes. */
export function syntheticGraph(count: number): GraphNode[] {
  const nodes: GraphNode[] = [];
  const add = (name: string, op: string, inputs: string[]) => {
    if (nodes.length < count) nodes.push({ name, op, inputs, outputs: [`${name}:0`] });
    return `${name}:0`;
  };
  let x = add('/embed/Gather', 'Gather', ['input', 'embed.weight']);
  for (let b = 0; nodes.length < count; b++) {
    const p = `/encoder/layer.${b}`;
    const mean = add(`${p}/ln1/ReduceMean`, 'ReduceMean', [x]);
    const centered = add(`${p}/ln1/Sub`, 'Sub', [x, mean]);
    const sq = add(`${p}/ln1/Pow`, 'Pow', [centered, 'two']);
    const variance = add(`${p}/ln1/ReduceMean_1`, 'ReduceMean', [sq]);
    const std = add(`${p}/ln1/Sqrt`, 'Sqrt', [add(`${p}/ln1/Add`, 'Add', [variance, 'eps'])]);
    const ln = add(`${p}/ln1/Div`, 'Div', [centered, std]);
    const shape = add(`${p}/attn/Shape`, 'Shape', [ln]);
    const heads = add(`${p}/attn/Constant`, 'Constant', []);
    const newShape = add(`${p}/attn/Concat`, 'Concat', [add(`${p}/attn/Gather`, 'Gather', [shape, 'zero']), heads]);
    const q = add(`${p}/attn/q/MatMul`, 'MatMul', [ln, `${p}.q.weight`]);
    const k = add(`${p}/attn/k/MatMul`, 'MatMul', [ln, `${p}.k.weight`]);
    const v = add(`${p}/attn/v/MatMul`, 'MatMul', [ln, `${p}.v.weight`]);
    const qr = add(`${p}/attn/Reshape`, 'Reshape', [q, newShape]);
    const kt = add(`${p}/attn/Transpose`, 'Transpose', [add(`${p}/attn/Reshape_1`, 'Reshape', [k, newShape])]);
    const scores = add(`${p}/attn/Div`, 'Div', [add(`${p}/attn/MatMul`, 'MatMul', [qr, kt]), 'scale']);
    const probs = add(`${p}/attn/Softmax`, 'Softmax', [scores]);
    const ctx = add(`${p}/attn/MatMul_1`, 'MatMul', [probs, add(`${p}/attn/Reshape_2`, 'Reshape', [v, newShape])]);
    const out = add(`${p}/attn/o/MatMul`, 'MatMul', [add(`${p}/attn/Reshape_3`, 'Reshape', [ctx, shape]), `${p}.o.weight`]);
    const res1 = add(`${p}/Add`, 'Add', [x, out]);
    const h = add(`${p}/mlp/fc1/MatMul`, 'MatMul', [res1, `${p}.fc1.weight`]);
    const erf = add(`${p}/mlp/Erf`, 'Erf', [add(`${p}/mlp/Div`, 'Div', [h, 'sqrt2'])]);
    const gelu = add(`${p}/mlp/Mul_1`, 'Mul', [add(`${p}/mlp/Mul`, 'Mul', [h, add(`${p}/mlp/Add`, 'Add', [erf, 'one'])]), 'half']);
    x = add(`${p}/Add_1`, 'Add', [res1, add(`${p}/mlp/fc2/MatMul`, 'MatMul', [gelu, `${p}.fc2.weight`])]);
  }
  return nodes;
}

const PRECISIONS = ['fp32', 'fp16', 'bf16', 'int8'] as const;
const TARGETS = [
  { name: 'h100', backend: 'tensorrt', gpu: { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', speed: 1 } },
  { name: 'l4', backend: 'tensorrt', gpu: { name: 'NVIDIA L4', computeCapability: '8.9', speed: 3.2 } },
  { name: 'a10', backend: 'torch', gpu: { name: 'NVIDIA A10', computeCapability: '8.6', speed: 2.4 } },
] as const;
const SENSITIVE = new Set(['Softmax', 'ReduceMean', 'Pow', 'Sqrt', 'Erf']);
const NO_FLOAT = new Set(['Shape', 'Gather', 'Concat', 'Constant']);

export interface SyntheticOptions {
  nodes?: number;
  seed?: number;
  id?: string;
  /** Multiplies every latency (1.1 = 10% slower). */
  slowdown?: number;
}

export function syntheticRecord(o: SyntheticOptions = {}): RunRecord {
  const rnd = seeded(o.seed ?? 7);
  const graph = syntheticGraph(o.nodes ?? 200);
  const id = o.id ?? '20261129-040000-synt';
  const stages: Record<string, StageRecord> = {
    inspect: { stage: 'inspect', target: 'h100', cells: [], status: 'done', params: {}, seconds: 0.2, cached: true, details: { nodes: graph, node_count: graph.length } },
  };
  const cells: CellSummary[] = [];
  for (const precision of PRECISIONS) {
    const lock = graph.map((n) => {
      const keep = precision !== 'fp32' && SENSITIVE.has(n.op);
      const resolved = NO_FLOAT.has(n.op) ? '-' : keep ? 'fp32' : precision;
      return { node: n.name, op: n.op, requested: precision, resolved, reason: NO_FLOAT.has(n.op) ? 'NO_FLOAT_MATH' : keep ? 'POLICY_RULE' : 'POLICY_DEFAULT', ...(keep ? { rule: 0, detail: 'numerically sensitive' } : {}) };
    });
    stages[`transform@${precision}`] = {
      stage: 'transform', target: 'h100', cells: [], status: 'done', seconds: 0.4, cached: rnd() < 0.5,
      params: { policy: { default: precision, io: 'keep', rules: [{ match: { op: [...SENSITIVE] }, use: 'fp32', why: 'numerically sensitive' }] } },
      details: { lock }, outputs: { model: { sha256: hex(rnd), size: 9_000_000, mediaType: 'application/onnx' } },
    };
    for (const t of TARGETS) {
      const cellId = `${precision}-${t.name}`;
      for (const s of ['inspect', `transform@${precision}`]) stages[s]!.cells.push(cellId);
      const explain = lock.map((l) => {
        const fused = l.op === 'Reshape' || l.op === 'Transpose';
        const fallback = precision === 'int8' && (l.op === 'Add' || l.op === 'Div') && l.resolved === 'int8';
        return {
          node: l.node,
          realized: fused ? '?' : l.resolved === '-' ? '-' : fallback ? 'fp16' : l.resolved,
          reason: fused ? 'FUSED' : fallback ? 'NO_KERNEL_ON_BACKEND' : '',
          detail: fused ? 'fused into a neighbouring layer' : fallback ? 'no int8 kernel for this layer; runs fp16' : '',
        };
      });
      const factor = { fp32: 1, fp16: 0.52, bf16: 0.55, int8: 0.34 }[precision] * t.gpu.speed * (o.slowdown ?? 1);
      const batches: Record<string, Record<string, unknown>> = {};
      const latency: CellSummary['latency'] = {};
      for (const b of [1, 8, 32]) {
        const base = (0.35 + 0.06 * b) * factor;
        const reps = Array.from({ length: 5 }, () => base * (1 + (rnd() - 0.5) * 0.03));
        const p99s = reps.map((r) => r * (1.15 + rnd() * 0.1));
        const sorted = [...reps].sort((x, y) => x - y);
        const stats = { latency_p50_ms: sorted[2]!, latency_p99_ms: [...p99s].sort((x, y) => x - y)[2]!, latency_mad_ms: base * 0.01, iterations: 1000, throughput_per_s: (b * 1000) / base };
        batches[String(b)] = { ...stats, repeats: 5, repeat_p50_ms: reps, repeat_p99_ms: p99s };
        latency[String(b)] = stats;
      }
      const err = { fp32: 1e-7, fp16: 4e-4, bf16: 3e-3, int8: 1.2e-2 }[precision] * (1 + rnd() * 0.3);
      const accuracy = {
        top1: 0.912 - { fp32: 0, fp16: 0.0004, bf16: 0.002, int8: 0.009 }[precision], reference_top1: 0.912,
        cosine: 1 - err * err * 50, rel_p50: err / 8, rel_p90: err / 2, rel_p99: err, max_abs: err * 3, top1_agreement: 1 - err, nonfinite: 0,
      };
      const build: StageRecord = {
        stage: 'build', target: t.name, cells: [cellId], status: 'done', seconds: 20 + rnd() * 40, cached: rnd() < 0.3,
        params: { backend: t.backend, precision, optimization_level: 3 },
        metrics: { engine_bytes: Math.round(88_000_000 * { fp32: 1, fp16: 0.5, bf16: 0.5, int8: 0.27 }[precision]) },
        details: { backend: t.backend, version: t.backend === 'tensorrt' ? '10.13.0' : '2.11.0', device: 'cuda:0', explain },
        outputs: { engine: { sha256: hex(rnd), size: 1, mediaType: 'application/octet-stream' } },
      };
      stages[`build@${cellId}`] = build;
      stages[`evaluate@${cellId}`] = { stage: 'evaluate', target: t.name, cells: [cellId], status: 'done', seconds: 3, cached: false, params: {}, metrics: accuracy };
      stages[`benchmark@${cellId}`] = { stage: 'benchmark', target: t.name, cells: [cellId], status: 'done', seconds: 12, cached: false, params: { repeats: 5 }, details: { batches, repeats: 5 } };
      const counts: Record<string, number> = {};
      for (const l of lock) counts[l.resolved] = (counts[l.resolved] ?? 0) + 1;
      cells.push({
        id: cellId, name: `bert-tiny@${cellId}`, precision, target: t.name, status: 'ok', accuracy, latency, precisionCounts: counts, build: {},
        provenance: {
          trtpipe: '0.1.0', runner: { target: t.name, address: `grpc://${t.name}-1:50051`, hostname: `${t.name}-1`, version: '0.1.0' },
          backend: { name: t.backend, version: String(build.details!.version), device: 'cuda:0' },
          gpus: [{ name: t.gpu.name, computeCapability: t.gpu.computeCapability, driver: '580.65.06', cuda: '13.0' }],
          hashes: { model: hex(rnd), policy: hex(rnd), evaluationData: hex(rnd), lockfile: hex(rnd), buildSettings: hex(rnd) },
          build: build.params, stages: [], cache: { hits: build.cached ? 2 : 1, stages: 6 },
        },
      });
    }
  }
  return {
    schema: 'trtpipe.run/1', id, status: 'ok', started: '2026-11-29T04:00:00.000Z', finished: '2026-11-29T04:20:00.000Z',
    trtpipe: { version: '0.1.0' },
    pipeline: { name: 'bert-tiny', file: 'pipelines/bert-tiny.yaml', sha256: hex(rnd) },
    inputs: {},
    runners: Object.fromEntries(TARGETS.map((t) => [t.name, { address: `grpc://${t.name}-1:50051`, local: false, runnerVersion: '0.1.0', hostname: `${t.name}-1`, backends: [], gpus: [{ name: t.gpu.name, computeCapability: t.gpu.computeCapability }], versions: {} }])),
    timings: { runnerStartSeconds: 0.5, uploadSeconds: 1.2, totalSeconds: 1200 },
    cells,
    stages,
    provenance: { trtpipe: '0.1.0', node: 'v20', platform: 'linux-x64', git: { commit: 'a'.repeat(40), dirty: false } },
  };
}

/** The synthetic record compared with a baseline 10% faster, gates judged, and `runs` earlier history entries. */
export function syntheticReport(runs = 30): { record: RunRecord; history: HistoryEntry[] } {
  const baseline = syntheticRecord({ id: '20261128-040000-base', seed: 3 });
  const record = syntheticRecord({ slowdown: 1.1 });
  const history: HistoryEntry[] = [];
  const rnd = seeded(11);
  for (let i = 0; i < runs; i++) {
    const day = String(i + 1).padStart(2, '0');
    const e = historyEntry(syntheticRecord({ id: `202610${day}-030000-h${i}`, seed: 100 + i, nodes: 20, slowdown: 1 + rnd() * 0.04 }));
    e.time = `2026-10-${day}T03:20:00.000Z`;
    history.push(e);
  }
  record.comparison = compareRuns(baseline, record, 'main', history);
  record.gates = evaluateGates({ latency_p50: { regress_max: '5%' }, top1: { drop_max: 0.5 }, precision_drift: { allow: false }, engine_size: { growth_max: '10%' } }, record, record.comparison);
  return { record, history: [...history, historyEntry(record)] };
}

function hex(rnd: () => number): string {
  return Array.from({ length: 64 }, () => Math.floor(rnd() * 16).toString(16)).join('');
}
