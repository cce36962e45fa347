/**
 * Another process on the host that holds the CPU's device lease in shared mode
 * (as a stage of some other runner would) until a benchmark queues for it
 * exclusively, then lets go: it forces a real "waiting for exclusive device".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { RUNNER_SOURCE } from '../../src/paths.js';
import { resolvePython } from '../../src/runner-client/local-runner.js';

const SCRIPT = `
import fcntl, sys, time
from pathlib import Path
from trtpipe_runner.cancel import CancelToken
from trtpipe_runner.lease.devices import device_key
from trtpipe_runner.lease.host_lock import HostLock, lock_files

directory = Path(sys.argv[1])
lock = HostLock(directory, device_key("cpu"))
lock.acquire(False, CancelToken(), lambda: None)
print("held", flush=True)
gate = open(lock_files(directory, device_key("cpu"))[1], "a")
blocked_since, deadline = None, time.time() + 60
while time.time() < deadline:
    try:
        fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(gate, fcntl.LOCK_UN)
        blocked_since = None
    except BlockingIOError:  # a writer holds the turnstile: a benchmark waits for the device
        blocked_since = blocked_since or time.time()
        if time.time() - blocked_since > 0.3:
            break
    time.sleep(0.02)
lock.close()
print("released", flush=True)
`;

export interface LeaseHolder {
  /** Resolves once the holder let go (a benchmark waited for it, or 60 s passed). */
  released: Promise<void>;
  stop(): void;
}

/** Starts the holder on `leaseDir`; resolves once it holds the lease. */
export async function holdCpuShared(leaseDir: string): Promise<LeaseHolder> {
  const child: ChildProcess = spawn(resolvePython(), ['-c', SCRIPT, leaseDir], {
    env: { ...process.env, PYTHONPATH: [RUNNER_SOURCE, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const seen = (word: string) => new Promise<void>((resolve, reject) => {
    const check = () => (out.includes(word) ? resolve() : undefined);
    child.stdout!.on('data', (t: Buffer) => { out += t.toString(); check(); });
    child.once('exit', (code) => (out.includes(word) ? resolve() : reject(new Error(`lease holder exited (${code}) before '${word}'`))));
  });
  const held = seen('held');
  const released = seen('released');
  released.catch(() => undefined);
  await held;
  return { released, stop: () => void child.kill() };
}
