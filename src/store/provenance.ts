/**
 * Provenance of every cell of a run: which software on which hardware turned
 * which inputs into the results. Everything is derived from the run record
 * (runner capabilities, stage parameters and outputs, input hashes) plus the
 * pipeline's git commit, so two cells with equal provenance hashes were made
 * from the same model, policy, data, lockfile and build settings.
 */
import path from 'node:path';
import type { DataSource, Pipeline } from '../config/types.js';
import { canonicalJson, sha256Hex } from '../plan/canonical.js';
import type { CellProvenance, CellSummary, GitInfo, RunRecord, StageRecord, StageTiming } from '../gen/schema/run-record.js';
import { nodeId } from '../plan/node-id.js';
import { gitCommit } from './git-commit.js';

interface GpuCapability {
  name?: string;
  computeCapability?: string;
  memoryBytes?: number;
  driverVersion?: string;
  cudaVersion?: string;
}

const hashJson = (v: unknown) => sha256Hex(canonicalJson(v));

/**
 * Adds `provenance` to the record and to each of its cells (mutates `record`).
 * `cwd` is the folder the record's input paths are relative to.
 */
export async function addProvenance(record: RunRecord, pipeline: Pipeline, cwd: string): Promise<void> {
  const git = await gitCommit(path.dirname(pipeline.file));
  record.provenance = { trtpipe: record.trtpipe.version, node: process.version, platform: `${process.platform}-${process.arch}`, ...(git ? { git } : {}) };
  const inputHash = (file: string | undefined) => (file ? record.inputs[path.relative(cwd, file)]?.sha256 : undefined);
  const dataHash = (d: DataSource | undefined) => (d ? inputHash(d.npz ?? d.dir) ?? (d.synthetic ? hashJson({ synthetic: d.synthetic }) : undefined) : undefined);
  for (const cell of record.cells) {
    cell.provenance = cellProvenance(record, cell, {
      ...(git ? { git } : {}),
      model: inputHash(pipeline.model.path),
      evaluationData: dataHash(pipeline.data.evaluation),
      calibrationData: dataHash(pipeline.data.calibration),
    });
  }
}

function cellProvenance(
  record: RunRecord,
  cell: CellSummary,
  known: { git?: GitInfo; model?: string; evaluationData?: string; calibrationData?: string },
): CellProvenance {
  const runner = record.runners[cell.target];
  const transform: StageRecord | undefined = record.stages[nodeId.transform(cell.precision)];
  const build: StageRecord | undefined = record.stages[nodeId.build(cell.id)];
  const details = (build?.details ?? {}) as { backend?: string; version?: string; device?: string };
  const backendName = String(build?.params.backend ?? details.backend ?? '');
  const backendCaps = (runner?.backends as { name: string; version?: string }[] | undefined)?.find((b) => b.name === backendName);
  const device = details.device;
  const stageRecords = Object.entries(record.stages).filter(([, s]) => s.cells.includes(cell.id));
  // Several runners (one per GPU): the GPUs of the runners this cell's stages ran on.
  const byRunner = runner?.gpusByRunner;
  const used = byRunner ? [...new Set(stageRecords.map(([, s]) => s.runner).filter((r): r is string => !!r && r in byRunner))] : [];
  const gpuCaps = byRunner && used.length ? used.flatMap((r) => byRunner[r]!) : runner?.gpus ?? [];
  const gpus = (gpuCaps as GpuCapability[]).map((g) => ({
    name: g.name ?? '',
    computeCapability: g.computeCapability ?? '',
    driver: g.driverVersion ?? '',
    cuda: g.cudaVersion ?? '',
    ...(g.memoryBytes ? { memoryBytes: g.memoryBytes } : {}),
  }));
  const stages = stageRecords.map(([id, s]): StageTiming => ({
    id, status: s.status, ...(s.seconds !== undefined ? { seconds: s.seconds } : {}), ...(s.cached !== undefined ? { cached: s.cached } : {}),
    ...(byRunner && s.runner ? { runner: s.runner } : {}),
  }));
  const hashes: CellProvenance['hashes'] = {
    ...(known.model ? { model: known.model } : {}),
    ...(transform ? { policy: hashJson(transform.params) } : {}),
    ...(known.evaluationData ? { evaluationData: known.evaluationData } : {}),
    ...(known.calibrationData ? { calibrationData: known.calibrationData } : {}),
    ...(transform?.details?.lock ? { lockfile: hashJson(transform.details.lock) } : {}),
    ...(build ? { buildSettings: hashJson(build.params) } : {}),
    ...(transform?.outputs?.model ? { annotatedModel: transform.outputs.model.sha256 } : {}),
    ...(build?.outputs?.engine ? { engine: build.outputs.engine.sha256 } : {}),
  };
  return {
    trtpipe: record.trtpipe.version,
    runner: { target: cell.target, address: runner?.address ?? '', hostname: runner?.hostname ?? '', version: runner?.runnerVersion ?? '' },
    backend: {
      name: backendName,
      ...(details.version || backendCaps?.version ? { version: details.version || backendCaps?.version } : {}),
      ...(device ? { device } : {}),
    },
    // A CPU build ran on no GPU, whatever the runner has.
    ...(gpus.length && device !== 'cpu' ? { gpus } : {}),
    hashes,
    build: build?.params ?? {},
    ...(known.git ? { git: known.git } : {}),
    stages,
    cache: { hits: stages.filter((s) => s.cached).length, stages: stages.filter((s) => s.status === 'done').length },
  };
}
