/**
 * The deployment files against what they deploy, without a container engine: the Dockerfile's entry
 * point plus the Kubernetes pods' args must be a command line the runner accepts, the probes must
 * reach the port that serves health, the Service must select the pods, and everything the files
 * name (secrets, mounted certificate paths, copied sources) must exist. kubeconform, actionlint and
 * hadolint check the files' own formats (scripts/check-deploy.sh).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAllDocuments } from 'yaml';
import { resolvePython } from '../../src/runner-client/local-runner.js';
import { ROOT } from '../helpers/paths.js';

type K8s = any;

const manifests: K8s[] = parseAllDocuments(readFileSync(path.join(ROOT, 'deploy', 'k8s', 'runner-pool.yaml'), 'utf8')).map((d) => d.toJS());
const kind = (k: string) => manifests.filter((m) => m.kind === k);
const dockerfile = readFileSync(path.join(ROOT, 'runner-py', 'Dockerfile'), 'utf8');
const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
const pod = kind('StatefulSet')[0].spec.template;
const container = pod.spec.containers[0];
const args: string[] = container.args;
/** `--name=value` or `--name value` of the full command line. */
function flag(name: string): string | undefined {
  const line = [...entrypoint, ...args];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === name) return line[i + 1];
    if (line[i]!.startsWith(`${name}=`)) return line[i]!.slice(name.length + 1);
  }
  return undefined;
}
const portOf = (address: string) => Number(address.split(':').pop());

test("the image's entry point with the pods' args is a command line the runner accepts", () => {
  assert.is(entrypoint[0], 'trtpipe-runner');
  const parse = `import sys; from trtpipe_runner.cli import build_parser; a = build_parser().parse_args(sys.argv[1:]); print(a.command)`;
  const r = spawnSync(resolvePython(), ['-c', parse, ...entrypoint.slice(1), ...args], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'serve');
  // The wheel's console script is the entry point's command.
  assert.match(readFileSync(path.join(ROOT, 'runner-py', 'pyproject.toml'), 'utf8'), /^trtpipe-runner = "trtpipe_runner\.cli:main"$/m);
});

test('probes reach the plaintext health listener; the Service reaches the gRPC port of the selected pods', () => {
  const health = portOf(flag('--health-listen')!);
  const grpc = portOf(flag('--listen')!);
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.is(container[probe].grpc.port, health, probe);
  const ports = Object.fromEntries(container.ports.map((p: K8s) => [p.name, p.containerPort]));
  assert.equal(ports, { grpc, health });
  const [service] = kind('Service');
  assert.is(service.spec.clusterIP, 'None'); // headless: trtpipe's pool resolves one address per pod
  assert.is(kind('StatefulSet')[0].spec.serviceName, service.metadata.name);
  for (const [k, v] of Object.entries(service.spec.selector)) assert.is(pod.metadata.labels[k], v);
  assert.is(ports[service.spec.ports[0].targetPort], grpc);
});

test('TLS files come from the mounted secret; the token from the Secret in the file; one GPU requested and limited', () => {
  const mount = container.volumeMounts.find((m: K8s) => m.name === 'tls');
  for (const f of ['--tls-cert', '--tls-key']) assert.is(path.posix.dirname(flag(f)!), mount.mountPath, f);
  assert.ok(pod.spec.volumes.find((v: K8s) => v.name === 'tls').secret.secretName);
  const ref = container.env.find((e: K8s) => e.name === 'TRTPIPE_RUNNER_TOKEN').valueFrom.secretKeyRef;
  const secret = kind('Secret').find((s: K8s) => s.metadata.name === ref.name);
  assert.ok(secret && ref.key in secret.stringData, `secret ${ref.name}/${ref.key}`);
  assert.is(container.resources.requests['nvidia.com/gpu'], 1);
  assert.is(container.resources.limits['nvidia.com/gpu'], 1);
  const namespaces = new Set(manifests.filter((m) => m.kind !== 'Namespace').map((m) => m.metadata.namespace));
  assert.equal([...namespaces], [kind('Namespace')[0].metadata.name]);
});

test("the Dockerfile copies only what exists and runs as the pods' user", () => {
  for (const m of dockerfile.matchAll(/^COPY (.+) \S+$/gm)) {
    for (const source of m[1]!.split(/\s+/)) assert.ok(existsSync(path.join(ROOT, source)), `COPY ${source}`);
  }
  const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
  assert.is(Number(user[1]), pod.spec.securityContext.runAsUser);
  assert.is(Number(user[2]), pod.spec.securityContext.runAsGroup);
});

test.run();
