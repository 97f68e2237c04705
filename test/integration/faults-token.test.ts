// Fault injection on a token endpoint (case g): an ECR endpoint that accepts connections and never
// answers. Its resource turns SourceError after --token-timeout, a resource with a Secret source is served
// meanwhile, and SIGTERM ends the daemon within its shutdown deadline while the hung request is in flight.
//
// Reproduction before the fix (2026-12-02): the resource stayed without any status for as long as the
// test waited, and SIGTERM did not stop the daemon (the hung single-flight fetch was awaited on shutdown).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, readyCondition, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges } from '../support/end-state.ts';
import { eventually } from '../support/eventually.ts';
import { rememberSecret } from '../support/leaks.ts';

const REGISTRY = 'registry.faults.test';
const SHUTDOWN_MS = 10_000;
const namespaces: string[] = [];
const resources: string[] = [];
const running: DaemonProcess[] = [];
const held = new Set<Socket>();
let connections = 0;
/** Accepts every connection and never answers a byte. */
const silent = createServer((socket) => {
  connections++;
  held.add(socket);
  socket.on('error', () => undefined);
  socket.on('close', () => held.delete(socket));
});

before(async () => {
  await installCrd(adminKubeConfig());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const s of held) s.destroy();
  silent.close();
  await cleanUp({ running, resources, namespaces });
});

async function namespace(): Promise<string> {
  const ns = uniqueName('fg');
  namespaces.push(ns);
  return createNamespace(ns);
}

test('g: a token endpoint that never answers: SourceError after the deadline, other resources served, SIGTERM still bounded', { timeout: 120_000 }, async () => {
  const sourceNs = await namespace();
  await createSecret({ metadata: { name: 'aws-keys', namespace: sourceNs }, type: 'Opaque',
    stringData: { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: rememberSecret(`faults-g-key-${Date.now()}`) } } as never);
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { [REGISTRY]: { username: 'u', password: 'fg' } }));
  const hungTarget = await namespace();
  const okTarget = await namespace();
  const port = (silent.address() as { port: number }).port;
  const hung = uniqueName('fg-hung');
  const ok = uniqueName('fg-ok');
  resources.push(hung, ok);
  await createIps(hung, { registry: { ecr: [{ region: 'eu-central-1', accountIDs: ['123456789012'], endpoint: `http://127.0.0.1:${port}`,
    credentialsSecret: { name: 'aws-keys', namespace: sourceNs } }] }, target: { namespaces: { names: [hungTarget] }, secret: { name: 'pull' } } });
  await createIps(ok, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    target: { namespaces: { names: [okTarget] }, secret: { name: 'pull' } } });

  const daemon = await spawnDaemon(uniqueName('fg'), ['--leader-elect=false', '--token-timeout=3', '--concurrency=1']);
  running.push(daemon);
  // One worker and a hung fetch: the Secret source is served anyway, well before the token deadline passes.
  await converges({ owner: ok, secretName: 'pull', namespaces: new Set([okTarget]), auths: { [REGISTRY]: authOf('u', 'fg') } }, 15_000);
  const ready = await eventually(async () => {
    const c = await readyCondition(hung);
    return c?.reason === 'SourceError' && c;
  }, { timeoutMs: 20_000, message: 'the hung source turns SourceError' });
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /no answer within 3 s/);
  assert.ok(connections >= 1, 'the daemon did reach the silent endpoint');

  // With the default 30 s token deadline, a fetch is certainly in flight when SIGTERM arrives.
  const second = await spawnDaemon(uniqueName('fg2'), ['--leader-elect=false']);
  running.push(second);
  const before = connections;
  await eventually(() => connections > before, { timeoutMs: 20_000, message: 'a fetch is in flight' });
  const t0 = Date.now();
  second.child.kill('SIGTERM');
  const code = await second.exited;
  const exitMs = Date.now() - t0;
  assert.equal(code, 0);
  assert.ok(exitMs <= SHUTDOWN_MS, `SIGTERM ended the daemon in ${exitMs} ms with a token request in flight`);
  assert.equal(daemon.child.exitCode, null);
  console.error(`[faults g] SourceError after the 3 s deadline; SIGTERM to exit ${exitMs} ms with a hung token request in flight`);
});
