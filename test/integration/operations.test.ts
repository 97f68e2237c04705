// The operational surface on the real API server, with the daemon as a separate process: /metrics with
// every documented series and correct values, /healthz and /readyz, and leader election across two
// replicas (SIGTERM hands over at once, SIGKILL within lease duration plus retry period, and no Secret is
// lost or duplicated on the way).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, managedSecrets, rest, uniqueName,
  waitForSecret,
} from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';

const sourceNs = uniqueName('source');
const namespaces: string[] = [sourceNs];
const resources: string[] = [];
const running: DaemonProcess[] = [];
const documented = [...readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'metrics.md'), 'utf8')
  .matchAll(/^\| `(pullsecret_sync_[a-z_]+)` \|/gm)].map((m) => m[1] ?? '');

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { 'docker.io': { username: 'u', password: 'p' } }));
});

after(async () => {
  for (const d of running) d.child.kill('SIGKILL');
  const cleaner = await spawnDaemon(uniqueName('cleaner'), ['--leader-elect=false']);
  await deleteIpsAndWait(resources);
  cleaner.child.kill('SIGTERM');
  await cleaner.exited;
  for (const ns of namespaces) await deleteNamespace(ns);
  rest.close();
});

async function selectingResource(label: string): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'pull' } } });
  return name;
}

async function labelledNamespace(label: string): Promise<string> {
  const name = uniqueName('ns');
  namespaces.push(name);
  return createNamespace(name, { [label]: 'yes' });
}

test('/metrics exposes every documented series with values that match the cluster; health endpoints answer', async () => {
  const daemon = await spawnDaemon(uniqueName('solo'), ['--leader-elect=false']);
  running.push(daemon);
  const label = `metrics-${Date.now().toString(36)}`;
  const name = await selectingResource(label);
  for (let i = 0; i < 3; i++) await waitForSecret(await labelledNamespace(label), 'pull');
  const text = await eventually(async () => {
    const t = await scrape(daemon);
    return metricValue(t, 'pullsecret_sync_resource_ready', `imagepullsecret="${name}"`) === 1 && t;
  }, { message: 'resource_ready reaches 1' });
  for (const series of documented) assert.match(text, new RegExp(`^# TYPE ${series} `, 'm'), `${series} is exported`);
  assert.equal(metricValue(text, 'pullsecret_sync_managed_secrets', `imagepullsecret="${name}"`), 3);
  assert.equal(metricValue(text, 'pullsecret_sync_conflicts', `imagepullsecret="${name}"`), 0);
  assert.equal(metricValue(text, 'pullsecret_sync_leader'), 1);
  assert.ok((metricValue(text, 'pullsecret_sync_namespace_secret_latency_seconds_count') ?? 0) >= 3);
  assert.ok((metricValue(text, 'pullsecret_sync_api_writes_total', 'verb="create",resource="secrets",code="2xx"') ?? 0) >= 3);
  assert.ok((metricValue(text, 'pullsecret_sync_reconcile_total', 'controller="target",result="success"') ?? 0) >= 3);
  assert.equal(metricValue(text, 'pullsecret_sync_token_fetches_total', 'provider="ECR",result="error"'), 0);
  assert.equal((await fetch(`${daemon.healthUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${daemon.healthUrl}/readyz`)).status, 200);

  await deleteIpsAndWait([name]);
  await eventually(async () => !(await scrape(daemon)).includes(`imagepullsecret="${name}"`), { message: 'no stale series after deletion' });
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0);
  running.splice(running.indexOf(daemon), 1);
});

async function holder(leaseNs: string): Promise<string | undefined> {
  const lease = await rest.call<{ spec?: { holderIdentity?: string } }>({ method: 'GET',
    path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases/pullsecret-sync` }).catch(() => undefined);
  return lease?.spec?.holderIdentity || undefined;
}

const secretWrites = async (d: DaemonProcess) => {
  const text = await scrape(d);
  return ['create', 'update', 'delete'].reduce((n, verb) =>
    n + (metricValue(text, 'pullsecret_sync_api_writes_total', `verb="${verb}",resource="secrets",code="2xx"`) ?? 0), 0);
};

test('two replicas: one writes; SIGTERM hands over within a lease duration, SIGKILL within lease duration plus retry', { timeout: 120_000 }, async () => {
  const leaseNs = uniqueName('lease');
  namespaces.push(leaseNs);
  await createNamespace(leaseNs);
  const label = `le-${Date.now().toString(36)}`;
  const name = await selectingResource(label);
  const args = [`--namespace=${leaseNs}`, '--leader-elect=true'];
  const a = await spawnDaemon(uniqueName('a'), args);
  running.push(a);
  await eventually(async () => (await holder(leaseNs)) === a.name, { timeoutMs: 10_000, message: 'a leads' });
  const b = await spawnDaemon(uniqueName('b'), args);
  running.push(b);
  await waitForSecret(await labelledNamespace(label), 'pull');
  assert.equal(metricValue(await scrape(b), 'pullsecret_sync_leader'), 0);
  assert.equal(await secretWrites(b), 0, 'the standby writes no Secret');
  assert.ok((await secretWrites(a)) >= 1);

  let t0 = Date.now();
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  await eventually(async () => (await holder(leaseNs)) === b.name, { timeoutMs: 15_000, intervalMs: 50, message: 'b leads after SIGTERM' });
  const afterTerm = Date.now() - t0;
  await waitForSecret(await labelledNamespace(label), 'pull', 10_000);

  const c = await spawnDaemon(uniqueName('c'), args);
  running.push(c);
  t0 = Date.now();
  b.child.kill('SIGKILL');
  await b.exited;
  await eventually(async () => (await holder(leaseNs)) === c.name, { timeoutMs: 17_000, intervalMs: 50, message: 'c leads after SIGKILL' });
  const afterKill = Date.now() - t0;
  await waitForSecret(await labelledNamespace(label), 'pull', 10_000);
  console.log(`hand-over after SIGTERM ${String(afterTerm)} ms, after SIGKILL ${String(afterKill)} ms`);

  const mine = [...(await managedSecrets()).values()].filter((s) => s.metadata.labels?.['pullsecret-sync.dev/owner'] === name);
  assert.equal(mine.length, 3, 'one Secret in each of the three namespaces, none lost, none duplicated');
  assert.equal(new Set(mine.map((s) => s.metadata.namespace)).size, 3);
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});
