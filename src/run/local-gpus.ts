/**
 * Which local runners a pipeline needs, and the host resources each gets: a
 * target's `gpus` starts one local runner per GPU (pinned with
 * CUDA_VISIBLE_DEVICES), and the host's cores are split between all the
 * local runners of a run, so that runners side by side do not fight over the
 * same cores (ONNX Runtime and PyTorch each take every core by default).
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { RunnerUnavailableError } from '../errors.js';
import type { Target } from '../config/types.js';

/** One local runner: `''` is the unpinned one, else the CUDA_VISIBLE_DEVICES value it is pinned to. */
export type LocalPin = string;

/** How a local runner is named in run.json (`runner` of each stage) and in messages. */
export function localAddress(pin: LocalPin): string {
  return pin ? `local:gpu${pin}` : 'local';
}

/** The local runners a target uses: its GPUs, or the one unpinned runner. */
export function targetPins(t: Pick<Target, 'name' | 'runners' | 'gpus'>, env: NodeJS.ProcessEnv = process.env): LocalPin[] {
  if (!t.runners.includes('local')) return [];
  if (t.gpus === undefined) return [''];
  if (t.gpus !== 'all') return t.gpus.map(String);
  const found = hostGpus(env);
  if (!found.ids.length) {
    throw new RunnerUnavailableError(
      `target '${t.name}': gpus: all, but no GPU was found (${found.how}); list the indices (gpus: [0, 1]) or set TRTPIPE_GPUS=0,1`,
    );
  }
  return found.ids;
}

/**
 * The host's GPUs for `gpus: all`: $TRTPIPE_GPUS (comma list; overrides the
 * rest, as tests and odd hosts need), else the parent's CUDA_VISIBLE_DEVICES
 * (the GPUs this process was given), else nvidia-smi's indices.
 */
export function hostGpus(env: NodeJS.ProcessEnv = process.env): { ids: string[]; how: string } {
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (env.TRTPIPE_GPUS !== undefined) return { ids: list(env.TRTPIPE_GPUS), how: 'TRTPIPE_GPUS' };
  if (env.CUDA_VISIBLE_DEVICES !== undefined)
    return { ids: list(env.CUDA_VISIBLE_DEVICES).filter((id) => id !== '-1'), how: 'CUDA_VISIBLE_DEVICES' };
  const smi = spawnSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', timeout: 15_000 });
  if (smi.error || smi.status !== 0)
    return { ids: [], how: smi.error ? 'nvidia-smi is not installed' : `nvidia-smi failed: ${smi.stderr.trim()}` };
  return { ids: list(smi.stdout.replace(/\n/g, ',')), how: 'nvidia-smi lists none' };
}

/**
 * Host threads per local runner when several run side by side: the cores
 * split evenly (at least one each). One runner alone keeps the libraries'
 * defaults (undefined).
 */
export function threadBudget(runners: number, cores = os.availableParallelism()): number | undefined {
  return runners > 1 ? Math.max(1, Math.floor(cores / runners)) : undefined;
}
