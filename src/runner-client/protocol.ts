/**
 * The runner protocol this client speaks, and the check at connection. The
 * version is the proto package (`trtpipe.runner.v1`) plus a minor revision,
 * bumped when v1 gains something this client relies on; the runner states its
 * own in GetCapabilities and refuses clients of another major (it reads
 * PROTOCOL_METADATA_KEY, sent with every call: runner-py/trtpipe_runner/protocol.py).
 * Keep PROTOCOL equal to the runner's `trtpipe_runner.PROTOCOL`.
 */
import { VERSION } from '../version.js';

export const PROTOCOL = 'trtpipe.runner.v1.0';
export const PROTOCOL_METADATA_KEY = 'trtpipe-protocol';
export const CLIENT_VERSION_METADATA_KEY = 'trtpipe-client-version';
/** The runner's error code when it refuses this client's protocol. */
export const PROTOCOL_MISMATCH = 'PROTOCOL_MISMATCH';

/** A runner this client cannot work with; the message names both versions. */
export class IncompatibleRunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompatibleRunnerError';
  }
}

/** [major, minor] of `trtpipe.runner.v<major>.<minor>`, undefined for anything else. */
export function parseProtocol(protocol: string): [number, number] | undefined {
  const m = /^trtpipe\.runner\.v(\d+)\.(\d+)$/.exec(protocol);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * Why a runner that states `runnerProtocol` (GetCapabilities.protocol) cannot
 * serve this client, or undefined when it can: the same major, and at least
 * this client's minor (an older runner lacks what was added since).
 */
export function protocolProblem(runnerProtocol: string, runnerVersion: string, ours = PROTOCOL): string | undefined {
  const want = parseProtocol(ours)!;
  const have = parseProtocol(runnerProtocol);
  if (have && have[0] === want[0] && have[1] >= want[1]) return undefined;
  const runner = `the runner (trtpipe-runner ${runnerVersion || 'of unknown version'}) speaks ${runnerProtocol || 'no protocol version'}`;
  const remedy = have && have[0] === want[0]
    ? 'upgrade the runner to the trtpipe-runner that came with this trtpipe'
    : 'install a trtpipe-runner and a trtpipe of the same protocol major version';
  return `incompatible runner protocol: ${runner}, this trtpipe ${VERSION} speaks ${ours}; ${remedy}`;
}
