/**
 * The local runner's stderr reaches the runner log and error messages with the values a pipeline
 * took from the environment masked, even when a value is split across two writes.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noteEnvValue } from '../../src/config/env-values.js';
import { spawnLocalRunner } from '../../src/runner-client/local-runner.js';
import { tempDir } from '../helpers/paths.js';

test('runner stderr is masked in the log and in the start error', async () => {
  const dir = tempDir();
  const secret = 'bucket-token-7f3a9c1e';
  noteEnvValue('TRTPIPE_BUCKET', secret);
  // A "python" that writes the value whole, then split over two writes, and exits without a port.
  const fake = path.join(dir, 'python');
  writeFileSync(
    fake,
    `#!/bin/sh\nprintf 'reading s3://${secret}/data\\n' >&2\nprintf 'again ${secret.slice(0, 9)}' >&2\nsleep 0.2\nprintf '${secret.slice(9)} done\\n' >&2\nexit 7\n`,
  );
  chmodSync(fake, 0o755);
  const logFile = path.join(dir, 'runner.log');
  let message = '';
  try {
    await spawnLocalRunner({ python: fake, storeDir: path.join(dir, 'store'), logFile, startTimeoutMs: 10_000 });
  } catch (err) {
    message = (err as Error).message;
  }
  // The log is closed when the process exits; its last write may still be on its way to the file.
  let log = readFileSync(logFile, 'utf8');
  for (let i = 0; i < 50 && !log.includes(' done'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    log = readFileSync(logFile, 'utf8');
  }
  assert.ok(message, 'the start fails');
  assert.not.match(log, secret);
  assert.not.match(message, secret);
  assert.match(log, 'reading s3://${TRTPIPE_BUCKET}/data\n');
  assert.match(log, 'again ${TRTPIPE_BUCKET} done\n');
  assert.match(message, '${TRTPIPE_BUCKET}');
});

test.run();
