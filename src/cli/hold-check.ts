/**
 * `trtpipe runners --hold <s>`: a stage that says nothing for <s> seconds on
 * every runner at once, to show that the transport to each (keepalive on both
 * ends, proxies and load balancers between) lets a silent stage of that length
 * finish, as a long TensorRT build needs. Only the runner's heartbeats flow.
 */
import { RunnerCallError, status } from '../runner-client/runner-call-error.js';
import type { RunnerHandle } from '../run/pool.js';

export interface HoldOutcome {
  target: string;
  address: string;
  ok: boolean;
  seconds: number;
  heartbeats: number;
  error?: string;
}

export async function holdEach(handles: RunnerHandle[], seconds: number, signal: AbortSignal): Promise<HoldOutcome[]> {
  return Promise.all(handles.map(async (h) => {
    const t0 = performance.now();
    let heartbeats = 0;
    const base = { target: h.target, address: h.address };
    try {
      await h.client.runStage(
        { stage: 'hold', cell: 'runners --hold', inputs: {}, params: { seconds } },
        (e) => void (e.kind === 'heartbeat' && heartbeats++),
        { signal },
      );
      return { ...base, ok: true, seconds: (performance.now() - t0) / 1000, heartbeats };
    } catch (err) {
      const e = err instanceof RunnerCallError ? err : new RunnerCallError('RunStage', status.UNKNOWN, (err as Error).message, undefined, h.address);
      return { ...base, ok: false, seconds: (performance.now() - t0) / 1000, heartbeats, error: `${e.message} (gRPC status ${e.code})` };
    }
  }));
}

export function describeHold(o: HoldOutcome, asked: number): string {
  const took = `${o.seconds.toFixed(1)} s, ${o.heartbeats} heartbeat(s)`;
  return o.ok
    ? `${o.target}  ${o.address}  held a silent stage for ${asked} s: ok (${took})`
    : `${o.target}  ${o.address}  a silent stage of ${asked} s FAILED after ${took}: ${o.error}`;
}
