/** Real runner processes on loopback, as "remote" runners for pool tests. */
import path from 'node:path';
import { spawnLocalRunner, type LocalRunner } from '../../src/runner-client/local-runner.js';
import { tempDir } from './paths.js';

export const POOL_TOKEN = 'pool-test-token';

/** Starts `n` runners sharing one token, each with its own store. */
export async function startRunners(n: number): Promise<LocalRunner[]> {
  const dir = tempDir('trtpipe-runners-');
  const saved = process.env.TRTPIPE_RUNNER_TOKEN;
  const runners: LocalRunner[] = [];
  for (let i = 0; i < n; i++) {
    runners.push(await spawnLocalRunner({ storeDir: path.join(dir, `store-${i}`), token: POOL_TOKEN }));
  }
  if (saved !== undefined) process.env.TRTPIPE_RUNNER_TOKEN = saved;
  return runners;
}

export async function stopRunners(rs: LocalRunner[]): Promise<void> {
  await Promise.all(rs.map((r) => r.stop(1000)));
}
