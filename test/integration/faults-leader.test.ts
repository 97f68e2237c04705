// Fault injection on leadership (case d): the leader cut off from the API server behind a TCP proxy that
// silently holds bytes. It must stop claiming leadership within the renew deadline plus 2 s (and exit
// non-zero), write nothing after the standby's first write; the standby must lead within lease duration
// plus retry period of the last renewal; after healing there is exactly one leader.
//
// Reproduction before the fix (2026-12-02): the cut-off leader kept reporting pullsecret_sync_leader 1 for
// as long as the partition lasted while the standby took the Lease after ~15 s: two leaders.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LEASE_TIMING } from '../../src/kube/leader-election.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { apiserverProxy } from '../testbed/faults.ts';
import type { PausableProxy } from '../testbed/proxy.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { authOf, cleanUp, converges } from '../support/end-state.ts';
import { eventually } from '../support/eventually.ts';

const REGISTRY = 'registry.faults.test';
const { leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_DEADLINE_MS, retryPeriodMs: RETRY_MS } = LEASE_TIMING;
const namespaces: string[] = [];
const resources: string[] = [];
const running: DaemonProcess[] = [];
let proxy: PausableProxy | undefined;

before(async () => { await installCrd(adminKubeConfig()); });

after(async () => {
  proxy?.resume();
  await proxy?.close();
  await cleanUp({ running, resources, namespaces });
});

interface Lease { spec?: { holderIdentity?: string; renewTime?: string; acquireTime?: string } }

async function lease(ns: string): Promise<Lease['spec']> {
  return (await rest.call<Lease>({ method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/pullsecret-sync` }).catch(() => undefined))?.spec;
}

/** Times (ms) of the writes a daemon logged, from its debug lines. */
function writeTimes(d: DaemonProcess, resource?: string): number[] {
  return d.logs().split('\n').flatMap((line) => {
    if (!line.includes('"API write"')) return [];
    const entry = JSON.parse(line) as { time: string; resource?: string };
    return resource === undefined || entry.resource === resource ? [Date.parse(entry.time)] : [];
  });
}

async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = uniqueName('fd');
  namespaces.push(ns);
  return createNamespace(ns, labels);
}

test('d: a leader behind a proxy that holds bytes steps down within the renew deadline; the standby takes over; one leader after healing', { timeout: 180_000 }, async () => {
  const leaseNs = await namespace();
  const sourceNs = await namespace();
  const label = `fd-${Date.now().toString(36)}`;
  await createSecret(dockerConfigSecret(sourceNs, 'hub', { [REGISTRY]: { username: 'u', password: 'fd' } }));
  const name = uniqueName('fd');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'hub', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'pull' } } });
  const selected = new Set([await namespace({ [label]: 'yes' })]);
  const expected = { owner: name, secretName: 'pull', namespaces: selected, auths: { [REGISTRY]: authOf('u', 'fd') } };

  const via = await apiserverProxy(mkdtempSync(join(tmpdir(), 'faults-d-')));
  proxy = via.proxy;
  const args = [`--namespace=${leaseNs}`, '--leader-elect=true', '--log-level=debug'];
  const a = await spawnDaemon(uniqueName('a'), args, via.kubeconfig);
  running.push(a);
  await eventually(async () => (await lease(leaseNs))?.holderIdentity === a.name, { timeoutMs: 15_000, message: 'a leads' });
  const b = await spawnDaemon(uniqueName('b'), args);
  running.push(b);
  await converges(expected);

  via.proxy.pause();
  const cutAt = Date.now();
  // A namespace created during the partition: only the new leader can serve it.
  selected.add(await namespace({ [label]: 'yes' }));
  const exitCode = await a.exited;
  const exitedMs = Date.now() - cutAt;
  assert.equal(exitCode, 1, 'the cut-off leader exits non-zero');
  const lostLine = a.logs().split('\n').find((l) => l.includes('Lost leadership'));
  assert.ok(lostLine, 'a logged that it lost leadership');
  const steppedDownMs = Date.parse((JSON.parse(lostLine) as { time: string }).time) - cutAt;
  assert.ok(steppedDownMs <= RENEW_DEADLINE_MS + 2000, `a stopped claiming leadership ${steppedDownMs} ms after the cut`);
  assert.ok(exitedMs <= RENEW_DEADLINE_MS + 2000, `a exited ${exitedMs} ms after the cut`);

  const taken = await eventually(async () => {
    const spec = await lease(leaseNs);
    return spec?.holderIdentity === b.name && spec;
  }, { timeoutMs: LEASE_MS + RETRY_MS + 10_000, intervalMs: 100, message: 'b leads' });
  await converges(expected, 30_000);
  const lastRenewal = Math.max(...writeTimes(a, 'leases'));
  const handOverMs = Date.parse(taken.acquireTime ?? '') - lastRenewal;
  assert.ok(handOverMs <= LEASE_MS + RETRY_MS + 1000, `b acquired the Lease ${handOverMs} ms after a's last renewal`);
  const bFirstWrite = Math.min(...writeTimes(b).filter((t) => t >= cutAt));
  assert.ok(Number.isFinite(bFirstWrite), 'b wrote after taking over');
  assert.deepEqual(writeTimes(a).filter((t) => t >= bFirstWrite), [], 'a wrote nothing after b\'s first write');
  assert.deepEqual(writeTimes(a, 'secrets').filter((t) => t >= cutAt), [], 'a wrote no Secret after the cut');

  // Healing: the old replica restarts (as Kubernetes would) through the healed path, as a standby.
  via.proxy.resume();
  const again = await spawnDaemon(uniqueName('a2'), args, via.kubeconfig);
  running.push(again);
  await eventually(async () => metricValue(await scrape(again), 'pullsecret_sync_leader') === 0, { message: 'the restarted replica is a standby' });
  assert.equal(metricValue(await scrape(b), 'pullsecret_sync_leader'), 1);
  assert.equal((await lease(leaseNs))?.holderIdentity, b.name);
  assert.equal(b.child.exitCode, null);
  console.error(`[faults d] stepped down ${steppedDownMs} ms after the cut, exited after ${exitedMs} ms; hand-over ${handOverMs} ms after the last renewal; standby's first write ${bFirstWrite - cutAt} ms after the cut`);
});
