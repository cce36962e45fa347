/**
 * A token sent over plaintext `grpc://` to another host can be read by anyone on the way and used
 * to run stages on that runner (issue 13 item 11): warned about before any connection is made.
 * Loopback addresses are fine (nothing leaves the machine).
 */
import type { Pipeline } from '../config/types.js';

/** localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** One warning per target whose token would go to a non-loopback runner over plaintext. */
export function plaintextTokenWarnings(p: Pipeline): string[] {
  const out: string[] = [];
  for (const t of p.targets) {
    if (!t.tokenEnv) continue;
    const exposed = t.runners.filter((spec) => {
      if (!spec.startsWith('grpc://')) return false;
      try {
        return !isLoopback(new URL(spec).hostname);
      } catch {
        return false; // the loader reports a malformed address
      }
    });
    if (exposed.length) {
      out.push(
        `trtpipe: warning: target '${t.name}': the token in ${t.tokenEnv} goes to ${exposed.join(', ')} over plaintext grpc://, readable by anyone on the network path; use grpcs:// (README, "Remote GPU runners")`,
      );
    }
  }
  return out;
}
