/**
 * The starter pipeline `trtpipe init` writes: the model's real input names
 * and shapes (from the runner's inspect stage), its data, a commented
 * precision section, a CPU target. Pure text generation; init validates the
 * result with the loader before writing it.
 */

export interface TensorInfo {
  name: string;
  dtype: string;
  /** Fixed dimensions as numbers, dynamic ones as their symbol (or "?"). */
  shape: (number | string)[];
}

export interface StarterOptions {
  name: string;
  /** Paths relative to the pipeline file's folder. */
  model: string;
  /** The schema for editors, relative to the pipeline's folder; no modeline without one. */
  schema?: string;
  /** The model path as the user named it (for the header comment). */
  modelShown: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  opCounts: Record<string, number>;
  opset?: number;
  evaluation?: { npz: string; labels?: string };
  calibration?: { npz: string };
}

/** Ranges for dynamic dimensions: the batch (axis 0) and any other symbol. */
const BATCH_RANGE = { min: 1, opt: 8, max: 32 };
const OTHER_RANGE = { min: 1, opt: 64, max: 256 };

/** A string as a YAML value: plain when that is unambiguous, else double-quoted (a literal ${ escaped). */
const str = (v: string) => (/^[A-Za-z0-9_./-]+$/.test(v) && !/^(true|false|null|~|[-+.0-9].*[0-9])$/i.test(v) ? v : JSON.stringify(v.replaceAll('${', '$${')));
const shapeText = (s: (number | string)[]) => `[${s.join(', ')}]`;
const yamlKey = (k: string) => (/^[A-Za-z_][A-Za-z0-9_.\-/]*$/.test(k) && !/^(true|false|null|yes|no|on|off)$/i.test(k) ? k : JSON.stringify(k));

export function starterPipeline(o: StarterOptions): string {
  const ops = Object.entries(o.opCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const nodes = ops.reduce((n, [, c]) => n + c, 0);
  const lines: string[] = [
    ...(o.schema ? [`# yaml-language-server: $schema=${o.schema.replace(/ /g, '%20')}`] : []),
    `# Starter pipeline for ${o.modelShown}, written by \`trtpipe init\`.`,
    `# The model: ${o.inputs.length} input(s), ${o.outputs.length} output(s), ${nodes} nodes${o.opset !== undefined ? `, opset ${o.opset}` : ''}.`,
    `# Check it with \`trtpipe validate\`, see what would run with \`trtpipe plan\`, then \`trtpipe run\`.`,
    'version: 1',
    `name: ${o.name}`,
    'model:',
    `  path: ${str(o.model)}`,
  ];
  for (const t of o.inputs) lines.push(`  # input ${t.name}: ${t.dtype} ${shapeText(t.shape)}`);
  for (const t of o.outputs) lines.push(`  # output ${t.name}: ${t.dtype} ${shapeText(t.shape)}`);
  const dynamic = o.inputs.filter((t) => t.shape.some((d) => typeof d !== 'number'));
  if (dynamic.length) {
    lines.push('  inputs:                # shape ranges of the dynamic dimensions (TensorRT optimization profiles)');
    for (const t of dynamic) {
      const dims = (k: 'min' | 'opt' | 'max') =>
        shapeText(t.shape.map((d, axis) => (typeof d === 'number' ? d : (axis === 0 ? BATCH_RANGE : OTHER_RANGE)[k])));
      const symbols = t.shape.flatMap((d, axis) => (typeof d === 'number' ? [] : [`${axis === 0 ? 'batch' : `'${d}'`} ${(axis === 0 ? BATCH_RANGE : OTHER_RANGE).min}..${(axis === 0 ? BATCH_RANGE : OTHER_RANGE).max}`]));
      lines.push(`    ${yamlKey(t.name)}: { min: ${dims('min')}, opt: ${dims('opt')}, max: ${dims('max')} }   # ${symbols.join(', ')}`);
    }
  }
  const names = o.inputs.map((t) => t.name).join(', ');
  lines.push('data:', `  # .npz files with one array per model input (${names}), axis 0 = samples.`);
  if (o.calibration) lines.push(`  calibration: { npz: ${str(o.calibration.npz)} }`);
  else lines.push('  # calibration: { npz: calib.npz }   # needed for int8/fp8 and for the data_max safety rule');
  if (o.evaluation) {
    lines.push(`  evaluation: { npz: ${str(o.evaluation.npz)}${o.evaluation.labels ? `, labels: ${yamlKey(o.evaluation.labels)}` : ''} }`);
  } else {
    lines.push(
      '  # Replace with real data: accuracy on random inputs says little.',
      '  evaluation: { synthetic: { seed: 0, low: 0, high: 1, samples: 64 } }',
    );
  }
  const softOps = ops.map(([op]) => op).filter((op) => ['Softmax', 'LayerNormalization', 'ReduceMean', 'Pow', 'Exp', 'Erf'].includes(op));
  lines.push(
    'precision:',
    '  default: fp16          # fp32 | tf32 | fp16 | bf16 | int8 | fp8',
    '  io: keep               # graph inputs and outputs stay fp32',
    '  # rules:               # ordered; the last matching rule wins',
    `  #   - match: { op: [${(softOps.length ? softOps : ['Softmax']).join(', ')}] }`,
    '  #     use: fp32',
    '  #     why: numerically sensitive',
    `  # op types in this model: ${ops.slice(0, 12).map(([op, n]) => `${op} ${n}`).join(', ')}${ops.length > 12 ? ', ...' : ''}`,
    '  # safety: { data_max: 512, init_max: 65504 }   # keep nodes whose values would overflow fp16',
    'targets:',
    '  - { name: cpu, runner: local, backend: onnxruntime }',
    '  # - { name: gpu, runner: "grpc://gpu-host:50051", token_env: TRTPIPE_TOKEN, backend: tensorrt }',
    'matrix:',
    '  precision: [fp32, fp16]',
    'benchmark:',
    '  batch: [1]',
    '  warmup: 10',
    '  iterations: 100',
  );
  return `${lines.join('\n')}\n`;
}

/** A pipeline name from a model path: its file name, or its folder's for a generic name like model.onnx. */
export function nameFromModel(modelPath: string): string {
  const parts = modelPath.split(/[\\/]/).filter(Boolean);
  const file = (parts.at(-1) ?? 'model').replace(/\.onnx$/i, '');
  const base = /^(model|model_fp32|fp32)$/i.test(file) && parts.length > 1 ? parts.at(-2)! : file;
  const name = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return name || 'pipeline';
}
