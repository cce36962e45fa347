/**
 * Rules the schema cannot express: names that must refer to each other,
 * files that must exist, combinations that cannot work. Each finding is an
 * error or a warning positioned at the key it is about. The rules live in
 * three files by subject: targets and the matrix (here), precision and
 * calibration (semantic-precision.ts), data, model, evaluation and gates
 * (semantic-data.ts).
 */
import { expandMatrixDetailed, type Cell } from './matrix.js';
import type { Diagnostic, KeyPath } from './diagnostics.js';
import { at, type PipelineDocument } from './document.js';
import { PRECISION_INFO } from '../gen/contract/vocabulary.js';
import { checkDataAndEvaluation } from './semantic-data.js';
import { checkPrecision } from './semantic-precision.js';
import { suggest } from './suggest.js';
import type { Pipeline, PipelineFile, Precision, Target } from './types.js';
import { intersect, isEmpty, parseRange } from './version-range.js';

export interface SemanticContext {
  raw: PipelineFile;
  p: Pipeline;
  doc: PipelineDocument;
  /** Paths in messages are shown relative to it. */
  cwd: string;
  cells: Cell[];
  /** Every precision some cell uses. */
  precisions: Set<Precision>;
  error(path: KeyPath, code: string, message: string, hint?: string, opts?: { key?: boolean }): void;
  warn(path: KeyPath, code: string, message: string, hint?: string, opts?: { key?: boolean }): void;
}

export function checkSemantics(raw: PipelineFile, p: Pipeline, doc: PipelineDocument, cwd = process.cwd()): Diagnostic[] {
  const out: Diagnostic[] = [];
  const expansion = expandMatrixDetailed(p);
  const ctx: SemanticContext = {
    raw,
    p,
    doc,
    cwd,
    cells: expansion.cells,
    precisions: new Set(expansion.cells.map((c) => c.precision)),
    error: (path, code, message, hint, opts) => out.push(at(doc, path, code, message, hint, opts)),
    warn: (path, code, message, hint, opts) => out.push(at(doc, path, code, message, hint, { ...opts, severity: 'warning' })),
  };
  const targetsOk = checkTargets(ctx);
  // Cells on targets that do not exist would only repeat the unknown-target error.
  if (targetsOk) checkMatrix(ctx, expansion.excluded, expansion.included);
  checkPrecision(ctx);
  checkDataAndEvaluation(ctx);
  return out;
}

const TENSORRT_BUILD = [
  'workspace_mib',
  'optimization_level',
  'hardware_compatibility',
  'version_compatible',
  'legacy_weak_typing',
] as const;
const ORT_BUILD = ['opt_level', 'threads'] as const;
const TORCH_BUILD = ['device', 'fuse', 'cuda_graph', 'compile'] as const;
/** Build settings only one backend reads, by backend (ONNX Runtime's are not flagged on torch, which runs on the CPU too). */
const OWN_BUILD: Record<string, readonly string[]> = { tensorrt: TENSORRT_BUILD, onnxruntime: ORT_BUILD, torch: TORCH_BUILD };
const FLAGGED_ON: Record<string, readonly string[]> = {
  tensorrt: ['onnxruntime', 'torch'],
  onnxruntime: ['tensorrt', 'torch'],
  torch: ['tensorrt'],
};

function checkTargets(ctx: SemanticContext): boolean {
  const { raw, p } = ctx;
  const seen = new Map<string, number>();
  p.targets.forEach((t, i) => {
    const here = (...rest: (string | number)[]) => ['targets', i, ...rest];
    const given = raw.targets[i]!;
    if (seen.has(t.name)) {
      ctx.error(
        here('name'),
        'duplicate-name',
        `target name '${t.name}' is already used by targets[${seen.get(t.name)}]`,
        'give every target its own name',
      );
    } else seen.set(t.name, i);
    if (given.numerics !== undefined && t.backend !== 'onnxruntime') {
      ctx.warn(
        here('numerics'),
        'ignored',
        `numerics applies to the onnxruntime backend only; '${t.backend}' runs the graph's types natively`,
        'remove it',
        { key: true },
      );
    }
    const remote = t.runners.filter((r) => r !== 'local');
    if (remote.length && t.tokenEnv === undefined) {
      ctx.warn(
        here('runner'),
        'no-token',
        'remote runner without token_env: runners that require a token will refuse the calls',
        'add token_env: NAME_OF_ENV_VAR holding the runner token',
      );
    }
    if (!remote.length && t.tokenEnv !== undefined) {
      ctx.warn(
        here('token_env'),
        'ignored',
        'token_env is for remote runners; the local runner gets a fresh token at every start',
        'remove it',
        { key: true },
      );
    }
    if (t.tls !== undefined && !t.runners.some((r) => r.startsWith('grpcs://'))) {
      ctx.warn(
        here('tls'),
        'ignored',
        'tls files are used only for grpcs:// runners',
        'write the runner as grpcs://host:port, or remove tls',
        { key: true },
      );
    }
    if (t.gpus !== undefined && !t.runners.includes('local')) {
      ctx.error(
        here('gpus'),
        'gpus-remote',
        'gpus starts local runners, one per GPU; this target has only remote runners',
        'remove gpus (a remote runner uses the GPUs it was started with), or add runner: local',
        { key: true },
      );
    }
    t.runners.forEach((r, k) => {
      if (t.runners.indexOf(r) !== k)
        ctx.error(here('runner', k), 'duplicate-item', `runner ${r} is listed twice in the pool`, 'remove one');
    });
    const build: Record<string, unknown> = given.build ?? {};
    for (const owner of FLAGGED_ON[t.backend] ?? []) {
      for (const k of OWN_BUILD[owner]!.filter((key) => build[key] !== undefined)) {
        ctx.warn(here('build', k), 'ignored', `does not apply to the ${t.backend} backend`, `remove it, or set backend: ${owner}`, {
          key: true,
        });
      }
    }
    checkRequirements(ctx, t, i);
  });
  const names = p.targets.map((t) => t.name);
  let ok = true;
  const unknown = (path: KeyPath, name: string) => {
    ok = false;
    const close = suggest(name, names);
    ctx.error(path, 'unknown-target', `no target is named '${name}'`, close ? `did you mean '${close}'?` : `targets: ${names.join(', ')}`);
  };
  raw.matrix?.target?.forEach((name, i) => names.includes(name) || unknown(['matrix', 'target', i], name));
  for (const kind of ['include', 'exclude'] as const) {
    raw.matrix?.[kind]?.forEach((cell, i) => {
      if (cell.target !== undefined && !names.includes(cell.target)) unknown(['matrix', kind, i, 'target'], cell.target);
    });
  }
  return ok;
}

function checkRequirements(ctx: SemanticContext, t: Target, i: number) {
  const req = (...rest: string[]) => ['targets', i, 'require', ...rest];
  const trtRange = t.require.tensorrt;
  if (trtRange !== undefined) {
    if (t.backend !== 'tensorrt' && t.backend !== 'auto') {
      ctx.warn(
        req('tensorrt'),
        'ignored',
        `a TensorRT version requirement on the ${t.backend} backend is never checked`,
        'remove it, or set backend: tensorrt',
        { key: true },
      );
    }
    if (isEmpty(parseRange(trtRange))) {
      ctx.error(
        req('tensorrt'),
        'version-range',
        `no TensorRT version satisfies '${trtRange}'`,
        'check the comparisons, e.g. ">=10.12 <12"',
      );
    }
  }
  if (t.build.legacy_weak_typing) {
    const path = ['targets', i, 'build', 'legacy_weak_typing'];
    if (trtRange === undefined) {
      ctx.warn(
        path,
        'weak-typing',
        'legacy_weak_typing works on TensorRT 10 only (TensorRT 11 removed weak typing)',
        'add require: { tensorrt: "<11" } so an 11.x runner is refused up front',
      );
    } else if (isEmpty(intersect(parseRange(trtRange), parseRange('10')))) {
      ctx.error(
        path,
        'weak-typing',
        `legacy_weak_typing needs TensorRT 10, but require.tensorrt is '${trtRange}'`,
        'remove legacy_weak_typing (strongly typed builds are the default), or allow 10.x',
      );
    }
  }
  const cc = t.require.compute_capability;
  if (cc === undefined) return;
  const allowed = parseRange(cc);
  const asked = new Set([...ctx.cells.filter((c) => c.target === t.name).map((c) => c.precision), ...(t.require.precisions ?? [])]);
  for (const precision of asked) {
    const min = PRECISION_INFO[precision].minComputeCapability;
    if (min && isEmpty(intersect(allowed, parseRange(`>=${min}`)))) {
      ctx.error(
        req('compute_capability'),
        'hardware',
        `${precision} needs compute capability ${min} or newer, but target '${t.name}' requires '${cc}'`,
        `leave ${precision} off this target (matrix.exclude: [{ precision: ${precision}, target: ${t.name} }]) or raise compute_capability`,
      );
    }
  }
}

function checkMatrix(ctx: SemanticContext, excluded: number[], included: number[]) {
  const { raw, p, cells } = ctx;
  if (!cells.length) {
    ctx.error(
      ['matrix'],
      'empty-matrix',
      'the matrix has no cells left: every combination is excluded',
      'remove an exclude entry, or add an include entry',
      { key: true },
    );
  }
  excluded.forEach((n, i) => {
    if (!n)
      ctx.warn(
        ['matrix', 'exclude', i],
        'no-match',
        'this exclude entry matches no cell',
        'check its values against the matrix axes, or remove it',
      );
  });
  included.forEach((n, i) => {
    if (!n)
      ctx.warn(
        ['matrix', 'include', i],
        'no-match',
        'this include entry adds no cell: every cell it names is already in the matrix',
        'remove it',
      );
  });
  // Only where one file sets both: a base's benchmark.batch is just inherited.
  const fileOf = (path: KeyPath) => ctx.doc.locate(path).origin.source;
  if (p.matrix.batch && raw.benchmark?.batch && fileOf(['benchmark', 'batch']) === fileOf(['matrix', 'batch'])) {
    ctx.warn(['benchmark', 'batch'], 'ignored', 'ignored: matrix.batch gives each cell its own batch', 'remove one of the two', {
      key: true,
    });
  }
  // ONNX Runtime's CPU provider runs fp16 and int8/fp8 graphs computed in fp32, but has no bf16
  // kernels for most ops: such a build fails; `numerics: emulated` measures bf16 on a CPU.
  p.targets.forEach((t, i) => {
    if (t.backend !== 'onnxruntime' || t.numerics !== 'native' || !cells.some((c) => c.target === t.name && c.precision === 'bf16')) return;
    ctx.warn(
      ['targets', i],
      'emulated-only',
      `bf16 cells on target '${t.name}' will fail to build: ONNX Runtime's CPU provider has no bf16 kernels for most ops (it offers bf16 only emulated)`,
      `set numerics: emulated on target '${t.name}', or matrix.exclude: [{ precision: bf16, target: ${t.name} }]`,
    );
  });
  // Cells against their target's declared precisions.
  p.targets.forEach((t, i) => {
    const declared = t.require.precisions;
    if (!declared) return;
    const used = new Set(cells.filter((c) => c.target === t.name).map((c) => c.precision));
    declared.forEach((want, k) => {
      if (!used.has(want)) {
        ctx.warn(
          ['targets', i, 'require', 'precisions', k],
          'unused-requirement',
          `target '${t.name}' requires ${want}, which no cell on it uses`,
          `remove it, or add ${want} to matrix.precision`,
        );
      }
    });
    for (const pr of used) {
      if (pr !== 'fp32' && !declared.includes(pr)) {
        ctx.warn(
          ['targets', i, 'require', 'precisions'],
          'unchecked-precision',
          `cells on target '${t.name}' use ${pr}, which its require.precisions does not list, so the runner is not checked for it`,
          `add ${pr} to require.precisions`,
        );
      }
    }
  });
  // Batch sizes against declared shape ranges (axis 0 is the batch).
  const batchPath = (b: number): KeyPath => {
    const axis = raw.matrix?.batch?.indexOf(b) ?? -1;
    if (axis >= 0) return ['matrix', 'batch', axis];
    const inc = raw.matrix?.include?.findIndex((x) => x.batch === b) ?? -1;
    return inc >= 0 ? ['matrix', 'include', inc, 'batch'] : ['matrix'];
  };
  const batches = [...new Set(cells.flatMap((c) => (c.batch === undefined ? [] : [c.batch])))];
  for (const [input, r] of Object.entries(p.model.inputs)) {
    for (const b of batches) {
      if (r.max && b > r.max[0]!) {
        ctx.error(
          batchPath(b),
          'batch-range',
          `batch ${b} exceeds the largest batch of input '${input}' (model.inputs.${input}.max[0] = ${r.max[0]})`,
          'raise max, or use a smaller batch',
        );
      } else if (r.min && b < r.min[0]!) {
        ctx.error(
          batchPath(b),
          'batch-range',
          `batch ${b} is below the smallest batch of input '${input}' (model.inputs.${input}.min[0] = ${r.min[0]})`,
          'lower min, or use a larger batch',
        );
      }
    }
  }
}
