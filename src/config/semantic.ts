/**
 * Rules the schema cannot express: names that must refer to each other, files
 * that must exist, combinations that cannot work. Each finding is positioned
 * at the key it is about.
 */
import { existsSync, statSync } from 'node:fs';
import type { Diagnostic } from './diagnostics.js';
import { at, type SourceFile } from './source.js';
import { suggest } from './suggest.js';
import type { Pipeline } from './types.js';

type Raw = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function checkSemantics(raw: Raw, p: Pipeline, source: SourceFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const targetNames = p.targets.map((t) => t.name);

  // Targets: unique names, backend-specific settings.
  const seen = new Map<string, number>();
  p.targets.forEach((t, i) => {
    if (seen.has(t.name)) {
      out.push(at(source, ['targets', i, 'name'], 'duplicate-name',
        `target name '${t.name}' is already used by targets[${seen.get(t.name)}]`, 'give every target its own name'));
    } else seen.set(t.name, i);
    if (raw.targets[i].numerics !== undefined && t.backend !== 'onnxruntime') {
      out.push(at(source, ['targets', i, 'numerics'], 'ignored', `numerics applies to the onnxruntime backend only; '${t.backend}' runs the graph's types natively`,
        undefined, { key: true, severity: 'warning' }));
    }
    if (t.tokenEnv === undefined && t.runners.some((r) => r !== 'local')) {
      out.push(at(source, ['targets', i, 'runner'], 'no-token', `remote runner without token_env: calls will be refused`,
        'add token_env: NAME_OF_ENV_VAR holding the runner token', { severity: 'warning' }));
    }
  });

  // Matrix: names must refer to targets; precisions need what they need.
  (raw.matrix?.target as string[] | undefined)?.forEach((name, i) => {
    if (!targetNames.includes(name)) out.push(unknownTarget(source, ['matrix', 'target', i], name, targetNames));
  });
  for (const kind of ['include', 'exclude'] as const) {
    (raw.matrix?.[kind] as Raw[] | undefined)?.forEach((cell, i) => {
      if (cell.target !== undefined && !targetNames.includes(cell.target)) {
        out.push(unknownTarget(source, ['matrix', kind, i, 'target'], cell.target, targetNames));
      }
    });
  }
  const precisions = new Set([...p.matrix.precision, ...p.matrix.include.map((c) => c.precision).filter(Boolean)]);
  const quantized = [...precisions].filter((x) => x === 'int8' || x === 'fp8');
  if (quantized.length && !p.data.calibration) {
    out.push(at(source, raw.matrix?.precision ? ['matrix', 'precision'] : ['precision', 'default'], 'needs-calibration',
      `${quantized.join(' and ')} need calibration data to compute Q/DQ scales`,
      'add data.calibration (an .npz keyed by input name; declare synthetic: only if you accept random scales)'));
  }
  p.targets.forEach((t, i) => {
    for (const want of t.require.precisions ?? []) {
      if (!precisions.has(want)) {
        out.push(at(source, ['targets', i, 'require', 'precisions'], 'unused-requirement',
          `target '${t.name}' requires ${want}, which the matrix never asks for`, undefined, { severity: 'warning' }));
      }
    }
  });

  // Data sources: exactly one kind; files exist; labels for task metrics.
  for (const which of ['calibration', 'evaluation'] as const) {
    const d = raw.data?.[which] as Raw | undefined;
    if (!d) continue;
    const kinds = ['npz', 'dir', 'synthetic'].filter((k) => d[k] !== undefined);
    if (kinds.length !== 1) {
      out.push(at(source, ['data', which], 'data-source',
        kinds.length ? `give one data source, not ${kinds.join(' and ')}` : 'no data source given',
        'use npz: <file.npz>, dir: <folder> or synthetic: {seed, low, high, samples}', { key: true }));
    }
    const n = p.data[which]!;
    if (n.npz !== undefined) checkFile(out, source, ['data', which, 'npz'], n.npz, 'file');
    if (n.dir !== undefined) checkFile(out, source, ['data', which, 'dir'], n.dir, 'dir');
    if (n.synthetic) {
      out.push(at(source, ['data', which, 'synthetic'], 'synthetic-data',
        `${which} data is synthetic (random): results say nothing about real inputs`, undefined,
        { key: true, severity: 'warning' }));
    }
  }
  const hasLabels = p.data.evaluation.labels !== undefined;
  if (!hasLabels) {
    if (p.gates.top1) out.push(at(source, ['gates', 'top1'], 'needs-labels', 'the top1 gate needs labels', 'add data.evaluation.labels: <array name>', { key: true }));
    if (p.evaluate.tolerances.top1) out.push(at(source, ['evaluate', 'tolerances', 'top1'], 'needs-labels', 'a top1 tolerance needs labels', 'add data.evaluation.labels: <array name>', { key: true }));
  }
  checkFile(out, source, ['model', 'path'], p.model.path, 'file');

  // Shape ranges: same rank, min <= opt <= max.
  for (const [input, r] of Object.entries(p.model.inputs)) {
    const dims = [r.min, r.opt, r.max].filter((d): d is number[] => d !== undefined);
    if (dims.length && new Set(dims.map((d) => d.length)).size > 1) {
      out.push(at(source, ['model', 'inputs', input], 'shape-range', `min, opt and max of '${input}' have different ranks`));
    } else if (r.min && r.max && r.min.some((v, k) => v > r.max![k]!)) {
      out.push(at(source, ['model', 'inputs', input, 'min'], 'shape-range', `min exceeds max for '${input}'`));
    } else if (r.opt && ((r.min && r.opt.some((v, k) => v < r.min![k]!)) || (r.max && r.opt.some((v, k) => v > r.max![k]!)))) {
      out.push(at(source, ['model', 'inputs', input, 'opt'], 'shape-range', `opt of '${input}' lies outside min..max`));
    }
  }

  if (raw.calibration?.percentile !== undefined && p.calibration.method !== 'percentile') {
    out.push(at(source, ['calibration', 'percentile'], 'ignored', `percentile applies to method: percentile only`, undefined,
      { key: true, severity: 'warning' }));
  }
  return out;
}

function unknownTarget(source: SourceFile, path: (string | number)[], name: string, names: string[]): Diagnostic {
  const close = suggest(name, names);
  return at(source, path, 'unknown-target', `no target is named '${name}'`,
    close ? `did you mean '${close}'?` : `targets: ${names.join(', ')}`);
}

function checkFile(out: Diagnostic[], source: SourceFile, path: (string | number)[], file: string, kind: 'file' | 'dir') {
  if (!existsSync(file)) {
    out.push(at(source, path, 'not-found', `${kind === 'file' ? 'file' : 'folder'} not found: ${file}`,
      'paths are relative to the pipeline file'));
    return;
  }
  const isDir = statSync(file).isDirectory();
  if (kind === 'file' && isDir) out.push(at(source, path, 'not-a-file', `is a folder, not a file: ${file}`));
  if (kind === 'dir' && !isDir) out.push(at(source, path, 'not-a-dir', `is a file, not a folder: ${file}`));
}
