// Fault injection on a token endpoint (case g): an ECR endpoint that accepts connections and never
// answers. Its resource turns SourceError after --token-timeout, a resource with a Secret source is served
// meanwhile, and SIGTERM ends the daemon within its shutdown deadline while the hung request is in flight.
// Case h: a token request held longer than --work-stall-timeout wedges the only worker; /healthz turns
// 503 (the liveness probe would restart the pod) and back to 200 once the answer arrives.
//
// Reproduction before the fix (2026-12-02): the resource stayed without any status for as long as the
// test waited, and SIGTERM did not stop the daemon (the hung single-flight fetch was awaited on shutdown).
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import { startPausableProxy, type PausableProxy } from '../testbed/proxy.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, readyCondition, uniqueName, waitForSecret } from '../support/cluster.ts';
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

let motoProxy: PausableProxy | undefined;

/** Ends case g's silent endpoint: its resource then fails at once instead of holding a worker. */
function closeSilent(): void {
  for (const s of held) s.destroy();
  if (silent.listening) silent.close();
}

after(async () => {
  closeSilent();
  motoProxy?.resume();
  await motoProxy?.close();
  await cleanUp({ running, resources, namespaces });
});

async function namespace(): Promise<string> {
  const ns = uniqueName('fg');
  namespaces.push(ns);
  return createNamespace(ns);
}

/** A namespace holding static AWS keys (any keys do for moto, or for an endpoint that never answers). */
async function awsKeysNamespace(): Promise<string> {
  const ns = await namespace();
  await createSecret({ metadata: { name: 'aws-keys', namespace: ns }, type: 'Opaque',
    stringData: { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: rememberSecret(`faults-key-${Date.now()}`) } } as never);
  return ns;
}

test('g: a token endpoint that never answers: SourceError after the deadline, other resources served, SIGTERM still bounded', { timeout: 120_000 }, async () => {
  const sourceNs = await awsKeysNamespace();
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

test('h: a token request held past --work-stall-timeout turns /healthz 503; it is 200 again once the reconcile finishes', { timeout: 120_000 }, async () => {
  // The one worker below must wait for this case's request alone: case g's endpoint and daemons go.
  closeSilent();
  await Promise.all(running.map(async (d) => { d.child.kill('SIGTERM'); await d.exited; }));
  const moto = new URL(currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto'));
  motoProxy = await startPausableProxy({ host: moto.hostname, port: Number(moto.port) });
  motoProxy.pause(); // the request reaches the proxy and waits there, as behind a hung middlebox
  const sourceNs = await awsKeysNamespace();
  const target = await namespace();
  const name = uniqueName('fh');
  resources.push(name);
  await createIps(name, { registry: { ecr: [{ region: 'eu-central-1', accountIDs: ['123456789012'], endpoint: `http://127.0.0.1:${String(motoProxy.port)}`,
    credentialsSecret: { name: 'aws-keys', namespace: sourceNs } }] }, target: { namespaces: { names: [target] }, secret: { name: 'pull' } } });
  const daemon = await spawnDaemon(uniqueName('fh'), ['--leader-elect=false', '--concurrency=1', '--token-timeout=90s', '--work-stall-timeout=2s']);
  running.push(daemon);
  const healthz = async () => {
    const res = await fetch(`${daemon.healthUrl}/healthz`);
    return { status: res.status, body: await res.text() };
  };

  const stalled = await eventually(async () => {
    const h = await healthz();
    return h.status === 503 && h;
  }, { timeoutMs: 30_000, message: '/healthz turns 503 while the only worker waits for the token' });
  assert.match(stalled.body, /^work loop finished no reconcile in \d+ s\n$/);
  const stalledAt = Date.now();

  motoProxy.resume();
  await waitForSecret(target, 'pull', 30_000);
  await eventually(async () => (await healthz()).status === 200, { timeoutMs: 10_000, message: '/healthz is 200 again' });
  await eventually(async () => (await readyCondition(name))?.reason === 'Synced', { message: 'the resource is Synced' });
  assert.equal(daemon.child.exitCode, null);
  console.error(`[faults h] /healthz 503 with a token request held past --work-stall-timeout=2s; 200 again ${Date.now() - stalledAt} ms after the answer was let through`);
});
