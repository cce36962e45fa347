/** The protocol check at connection, from the client's side and the runner's, with real runners. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VERSION } from '../../src/version.js';
import { PROTOCOL, protocolProblem } from '../../src/runner-client/protocol.js';
import { RunnerCallError } from '../../src/runner-client/runner-call-error.js';
import { RunnerClient } from '../../src/runner-client/runner-client.js';
import { runCli } from '../helpers/cli.js';
import { EXAMPLES, tempDir } from '../helpers/paths.js';
import { POOL_TOKEN, serveRunner } from '../helpers/runners.js';

test('protocolProblem: the same major at this minor or newer is fine; anything else names both versions', () => {
  assert.is(protocolProblem(PROTOCOL, '0.1.0'), undefined);
  assert.is(protocolProblem('trtpipe.runner.v1.3', '0.4.0', 'trtpipe.runner.v1.2'), undefined);
  const older = protocolProblem('trtpipe.runner.v1.1', '0.3.0', 'trtpipe.runner.v1.2')!;
  assert.match(older, 'the runner (trtpipe-runner 0.3.0) speaks trtpipe.runner.v1.1');
  assert.match(older, `this trtpipe ${VERSION} speaks trtpipe.runner.v1.2; upgrade the runner`);
  const major = protocolProblem('trtpipe.runner.v2.0', '1.0.0')!;
  assert.match(major, `speaks trtpipe.runner.v2.0, this trtpipe ${VERSION} speaks ${PROTOCOL}; install a trtpipe-runner and a trtpipe of the same protocol major version`);
  // Runners from before the minor revision stated the bare package name.
  assert.match(protocolProblem('trtpipe.runner.v1', '0.0.9')!, 'speaks trtpipe.runner.v1,');
  assert.match(protocolProblem('', '')!, 'the runner (trtpipe-runner of unknown version) speaks no protocol version');
});

test('a runner of another major refuses this client, and the client says so naming both versions (exit 3)', async () => {
  const dir = tempDir();
  const runner = await serveRunner(path.join(dir, 'store'), [], {}, 'trtpipe.runner.v2.0');
  try {
    const client = new RunnerClient(runner.address, { token: POOL_TOKEN });
    const err = await client.getCapabilities().then(() => undefined, (e: unknown) => e);
    client.close();
    assert.instance(err, RunnerCallError);
    assert.ok((err as RunnerCallError).isIncompatible);
    assert.match((err as Error).message, `trtpipe ${VERSION} speaks ${PROTOCOL}, this runner (trtpipe-runner 0.1.0) speaks trtpipe.runner.v2.0`);

    const file = path.join(dir, 'remote.yaml');
    writeFileSync(file, `version: 1
name: remote
model: { path: ${path.join(EXAMPLES, 'digits', 'model.onnx')} }
data: { evaluation: { npz: ${path.join(EXAMPLES, 'digits', 'eval.npz')} } }
targets:
  - { name: gpu, runner: "grpc://${runner.address}", token_env: POOL_TOKEN }
`);
    const r = await runCli(['runners', file, '--state-dir', path.join(dir, 'state')], { env: { POOL_TOKEN } });
    assert.is(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, `target 'gpu': runner ${runner.address} is incompatible: incompatible runner protocol: trtpipe ${VERSION} speaks ${PROTOCOL}`);
  } finally {
    await runner.stop();
  }
});

test.run();
