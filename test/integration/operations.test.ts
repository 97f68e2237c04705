// The operational surface on the real API server, with the daemon as a separate process: /metrics with
// every documented series and correct values, /healthz and /readyz, and leader election across two
// replicas (SIGTERM hands over within one retry period, SIGKILL within lease duration plus retry period,
// each plus HANDOVER_SLACK_MS, and no Secret is lost or duplicated on the way).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LEASE_TIMING } from '../../src/kube/leader-election.ts';
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
const { leaseDurationMs, retryPeriodMs } = LEASE_TIMING;
/**
 * What a hand-over takes beside the standby's wait for its next Lease attempt: the old leader's shutdown
 * up to its release, the standby's Lease read and write, and timers firing late on a busy machine.
 */
const HANDOVER_SLACK_MS = 500;
/** SIGTERM releases the Lease, so the standby takes it at its next attempt (README states this bound). */
const AFTER_SIGTERM_MS = retryPeriodMs + HANDOVER_SLACK_MS;
/** A killed leader's Lease is free once unchanged for a lease duration, seen at an attempt every retry period. */
const AFTER_SIGKILL_MS = leaseDurationMs + retryPeriodMs + HANDOVER_SLACK_MS;
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

/** When a replica logged that it became leader (ms). */
async function leadingSince(d: DaemonProcess): Promise<number> {
  const line = await eventually(() => d.logs().split('\n').find((l) => l.includes('"Became leader"')), { message: `${d.name} logged that it leads` });
  return Date.parse((JSON.parse(line) as { time: string }).time);
}

const secretWrites = async (d: DaemonProcess) => {
  const text = await scrape(d);
  return ['create', 'update', 'delete'].reduce((n, verb) =>
    n + (metricValue(text, 'pullsecret_sync_api_writes_total', `verb="${verb}",resource="secrets",code="2xx"`) ?? 0), 0);
};

test('two replicas: one writes; SIGTERM hands over within a retry period, SIGKILL within lease duration plus retry period', { timeout: 120_000 }, async () => {
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

  const term = Date.now();
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  const warnings = a.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; time: string; msg: string })
    .filter((l) => Date.parse(l.time) >= term && (l.level === 'warn' || l.level === 'error')).map((l) => l.msg);
  assert.deepEqual(warnings, [], 'a clean shutdown logs no warning');
  await eventually(async () => (await holder(leaseNs)) === b.name, { timeoutMs: AFTER_SIGKILL_MS, intervalMs: 50, message: 'b leads after SIGTERM' });
  const afterTerm = (await leadingSince(b)) - term;
  assert.ok(afterTerm <= AFTER_SIGTERM_MS, `b led ${String(afterTerm)} ms after SIGTERM; the bound is ${String(AFTER_SIGTERM_MS)} ms`);
  await waitForSecret(await labelledNamespace(label), 'pull', 10_000);

  const c = await spawnDaemon(uniqueName('c'), args);
  running.push(c);
  const kill = Date.now();
  b.child.kill('SIGKILL');
  await b.exited;
  await eventually(async () => (await holder(leaseNs)) === c.name, { timeoutMs: AFTER_SIGKILL_MS + 5000, intervalMs: 50, message: 'c leads after SIGKILL' });
  const afterKill = (await leadingSince(c)) - kill;
  assert.ok(afterKill <= AFTER_SIGKILL_MS, `c led ${String(afterKill)} ms after SIGKILL; the bound is ${String(AFTER_SIGKILL_MS)} ms`);
  await waitForSecret(await labelledNamespace(label), 'pull', 10_000);
  console.log(`hand-over after SIGTERM ${String(afterTerm)} ms (bound ${String(AFTER_SIGTERM_MS)}), after SIGKILL ${String(afterKill)} ms (bound ${String(AFTER_SIGKILL_MS)})`);

  const mine = [...(await managedSecrets()).values()].filter((s) => s.metadata.labels?.['pullsecret-sync.dev/owner'] === name);
  assert.equal(mine.length, 3, 'one Secret in each of the three namespaces, none lost, none duplicated');
  assert.equal(new Set(mine.map((s) => s.metadata.namespace)).size, 3);
  c.child.kill('SIGTERM');
  assert.equal(await c.exited, 0);
});
