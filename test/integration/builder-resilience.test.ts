// The builder front cannot take the controller down: a real daemon process (leader election on, the
// testbed's API server) gets requests no well-behaved builder sends, or a flood of them, and afterwards it
// still runs, still leads and still reconciles.
//
// Reproduction before the fix: one chunked POST of 128 KiB to /v1/credentials by an allowed
// ServiceAccount was answered 413, then the process exited (a TypeError in the drain of the refused body,
// a rejection nothing caught). The flood of refused tokens below stalled the controller: a namespace
// created during it got no Secret within 30 s, since TokenReviews, the controller's calls and the Lease
// renewal waited in one client-side limiter.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges, type Expected } from '../support/end-state.ts';
import { flood } from '../support/builder-flood.ts';
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

test('a flood of refused tokens from 8 addresses × 60 connections: the daemon keeps its Lease and keeps reconciling', { timeout: 180_000 }, async () => {
  const durationMs = 40_000;
  const sources = Array.from({ length: 8 }, (_, i) => `127.0.0.${String(i + 2)}`);
  const renewals: number[] = [];
  const holders = new Set<string>();
  const latencies: number[] = [];
  const run = { flooding: true };
  const leaseWatch = (async () => {
    let last: string | undefined;
    while (run.flooding) {
      const spec = await lease();
      if (spec?.holderIdentity) holders.add(spec.holderIdentity);
      if (spec?.renewTime && spec.renewTime !== last) {
        last = spec.renewTime;
        renewals.push(Date.parse(spec.renewTime));
      }
      await new Promise((resolve) => { setTimeout(resolve, 250); });
    }
  })();
  const reconciles = (async () => {
    while (run.flooding) {
      const started = Date.now();
      const ns = await namespace({ [label]: 'yes' });
      expected.namespaces.add(ns);
      await eventually(async () => (await rest.call<{ metadata?: unknown }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/secrets/pull` }).catch(() => undefined)) !== undefined,
        { timeoutMs: 30_000, intervalMs: 100, message: `the Secret in ${ns} during the flood` });
      latencies.push(Date.now() - started);
      await new Promise((resolve) => { setTimeout(resolve, Math.max(0, 2500 - (Date.now() - started))); });
    }
  })();
  void reconciles.catch(() => undefined); // awaited below; a failure must not be reported twice
  let result: Awaited<ReturnType<typeof flood>>;
  let before: string;
  try {
    before = await scrape(daemon);
    result = await flood({ url: daemon.builderUrl, addresses: sources, connectionsPerAddress: 60, durationMs });
  } finally {
    run.flooding = false;
  }
  await Promise.all([leaseWatch, reconciles]);
  const afterText = await scrape(daemon);

  assert.equal(daemon.child.exitCode, null, 'the daemon process runs');
  assert.deepEqual([...holders], [daemon.name], 'the Lease never left the daemon');
  assert.equal(metricValue(afterText, 'pullsecret_sync_leader'), 1);
  await stillControls();
  assert.equal((result.statuses['200'] ?? 0), 0, 'no refused token was served');

  const gaps = renewals.slice(1).map((t, i) => t - renewals[i]!);
  const sorted = [...latencies].sort((a, b) => a - b);
  const reviews = (metricValue(afterText, 'pullsecret_sync_api_writes_total', 'verb="create",resource="tokenreviews",code="2xx"') ?? 0)
    - (metricValue(before, 'pullsecret_sync_api_writes_total', 'verb="create",resource="tokenreviews",code="2xx"') ?? 0);
  console.error(`# flood: ${String(result.requests)} requests in ${String(durationMs / 1000)} s, answers ${JSON.stringify(result.statuses)}; `
    + `TokenReviews ${String(reviews)}; Lease renewals ${String(renewals.length)}, largest gap ${String(Math.max(0, ...gaps))} ms; `
    + `namespace→Secret ${String(sorted.length)} samples, median ${String(sorted[Math.floor(sorted.length / 2)] ?? 0)} ms, max ${String(sorted.at(-1) ?? 0)} ms`);
});
