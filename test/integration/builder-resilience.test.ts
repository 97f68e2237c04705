// The builder front cannot take the controller down: a real daemon process (leader election on, the
// testbed's API server) gets requests no well-behaved builder sends, and afterwards it still runs,
// still leads and still reconciles.
//
// Reproduction before the fix: one chunked POST of 128 KiB to /v1/credentials by an allowed
// ServiceAccount was answered 413, then the process exited (a TypeError in the drain of the refused body,
// a rejection nothing caught).
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges, type Expected } from '../support/end-state.ts';
import { eventually } from '../support/eventually.ts';
import { rememberSecret } from '../support/leaks.ts';

const REGISTRY = 'registry.resilience.test';
const namespaces: string[] = [];
const resources: string[] = [];
const running: DaemonProcess[] = [];
let daemon: DaemonProcess;
let leaseNs: string;
let buildNs: string;
let expected: Expected & { namespaces: Set<string> };
let label: string;

before(async () => {
  await installCrd(adminKubeConfig());
  leaseNs = await namespace();
  buildNs = await namespace();
  label = `res-${Date.now().toString(36)}`;
  await createSecret(dockerConfigSecret(buildNs, 'hub', { [REGISTRY]: { username: 'u', password: rememberSecret('resilience-pw') } }));
  const name = uniqueName('res');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'hub', namespace: buildNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'pull' } },
    builder: { serviceAccounts: [{ namespace: buildNs, name: 'builder' }] } });
  expected = { owner: name, secretName: 'pull', namespaces: new Set([await namespace({ [label]: 'yes' })]), auths: { [REGISTRY]: authOf('u', 'resilience-pw') } };
  daemon = await spawnDaemon(uniqueName('res'), [`--namespace=${leaseNs}`, '--leader-elect=true']);
  running.push(daemon);
  await eventually(async () => (await lease())?.holderIdentity === daemon.name, { timeoutMs: 20_000, message: 'the daemon leads' });
  await converges(expected);
});

after(async () => { await cleanUp({ running, resources, namespaces }); });

async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = uniqueName('res');
  namespaces.push(ns);
  return createNamespace(ns, labels);
}

async function lease(): Promise<{ holderIdentity?: string; renewTime?: string } | undefined> {
  return (await rest.call<{ spec?: { holderIdentity?: string; renewTime?: string } }>({ method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases/pullsecret-sync` }).catch(() => undefined))?.spec;
}

/** A POST to the builder; `chunks` of 16 KiB are sent chunked (no Content-Length). The status, or the error code. */
function post(path: string, token: string, body: { json?: unknown; chunks?: number }): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${daemon.builderUrl}${path}`, {
      method: 'POST', rejectUnauthorized: false, agent: false, timeout: 15_000,
      headers: { Authorization: `Bearer ${token}`, ...(body.chunks === undefined ? { 'Content-Type': 'application/json' } : { 'Transfer-Encoding': 'chunked' }) },
    }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('timeout', () => { req.destroy(new Error('timed out')); });
    req.on('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? err.message); });
    if (body.chunks === undefined) {
      req.end(JSON.stringify(body.json));
      return;
    }
    for (let i = 0; i < body.chunks; i++) req.write(Buffer.alloc(16 * 1024, 0x61));
    req.end();
  });
}

/** The daemon's process still runs, still leads and still serves a namespace that appears now. */
async function stillControls(): Promise<void> {
  assert.equal(daemon.child.exitCode, null, 'the daemon process runs');
  assert.equal(daemon.child.signalCode, null, 'the daemon process runs');
  assert.equal(metricValue(await scrape(daemon), 'pullsecret_sync_leader'), 1, 'the daemon still leads');
  expected.namespaces.add(await namespace({ [label]: 'yes' }));
  await converges(expected, 30_000);
}

test('an allowed builder\'s oversized chunked body is answered 413 and the daemon goes on', { timeout: 120_000 }, async () => {
  const token = rememberSecret(await mintToken({ namespace: buildNs, serviceAccount: 'builder', audiences: ['pullsecret-sync'], create: true }));
  await eventually(async () => await post('/v1/credentials', token, { json: { serverURL: REGISTRY } }) === 200,
    { timeoutMs: 30_000, intervalMs: 500, message: 'the builder is served' });
  for (let i = 0; i < 3; i++) assert.equal(await post('/v1/credentials', token, { chunks: 8 }), 413);
  assert.equal(await post('/v1/repositories', token, { chunks: 8 }), 413);
  assert.equal(await post('/v1/credentials', token, { json: { serverURL: REGISTRY } }), 200, 'the builder is still served');
  await stillControls();
  assert.equal(metricValue(await scrape(daemon), 'pullsecret_sync_process_errors_total', 'kind="unhandledRejection"'), 0);
});
