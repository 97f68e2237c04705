// Fault injection on leadership, with a TCP proxy that silently holds bytes (a dead NAT entry) between
// one replica and the API server.
// (d) The leader cut off: it must stop claiming leadership within the renew deadline plus 2 s (and exit
// non-zero), write nothing after the standby's first write; the standby must lead within lease duration
// plus retry period of the last renewal; after healing there is exactly one leader.
// (d2) The standby cut off for 30 s while the leader keeps renewing: after healing the standby must not
// take the Lease and the leader must not exit. Checked where the writes land: a watch on the Lease, opened
// by the test itself on its own connection, records every stored change and its holder.
//
// Reproduction before the fix (2026-12-02): the cut-off leader kept reporting pullsecret_sync_leader 1 for
// as long as the partition lasted while the standby took the Lease after ~15 s: two leaders.
// Reproduction of (d2) before the fix (2026-12-06): the healed standby logged "Became leader" at its first
// look after healing and overwrote the live leader's Lease.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
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
const proxies: PausableProxy[] = [];

before(async () => { await installCrd(adminKubeConfig()); });

after(async () => {
  for (const p of proxies) {
    p.resume();
    await p.close();
  }
  await cleanUp({ running, resources, namespaces });
});

interface Lease { metadata?: { resourceVersion?: string }; spec?: { holderIdentity?: string; renewTime?: string; acquireTime?: string } }

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

  const via = await apiserverProxy(scratchDir('faults-d'));
  proxies.push(via.proxy);
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

/** Every change the API server stores to the Lease, from a watch on the test's own connection, with when it arrived. */
function watchLease(ns: string): { changes: { atMs: number; type: string; holder: string | undefined; resourceVersion: string | undefined }[]; stop: () => Promise<void> } {
  const changes: { atMs: number; type: string; holder: string | undefined; resourceVersion: string | undefined }[] = [];
  const stopped = new AbortController();
  const watching = (async () => {
    let since: string | undefined;
    while (!stopped.signal.aborted) {
      await rest.watch({ path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
        query: { fieldSelector: 'metadata.name=pullsecret-sync', timeoutSeconds: 300, resourceVersion: since, allowWatchBookmarks: false } },
      (event) => {
        const lease = event.object as Lease;
        since = lease.metadata?.resourceVersion;
        changes.push({ atMs: Date.now(), type: event.type, holder: lease.spec?.holderIdentity, resourceVersion: since });
      }, stopped.signal);
    }
  })();
  return { changes, stop: async () => { stopped.abort(); await watching; } };
}

test('d2: a standby cut off from the API server for 30 s while the leader renews does not take the Lease after healing; the leader keeps it', { timeout: 180_000 }, async () => {
  const leaseNs = await namespace();
  const args = [`--namespace=${leaseNs}`, '--leader-elect=true', '--log-level=debug'];
  const a = await spawnDaemon(uniqueName('a'), args);
  running.push(a);
  await eventually(async () => (await lease(leaseNs))?.holderIdentity === a.name, { timeoutMs: 15_000, message: 'a leads' });
  const watch = watchLease(leaseNs);
  try {
    const via = await apiserverProxy(scratchDir('faults-d2'));
    proxies.push(via.proxy);
    const b = await spawnDaemon(uniqueName('b'), args, via.kubeconfig);
    running.push(b);
    await eventually(() => b.logs().includes('campaigning for leadership'), { message: 'b campaigns' });
    // Two renewals stored after b started campaigning: b has looked at the Lease at least once.
    const campaigningMs = Date.now();
    await eventually(() => watch.changes.filter((c) => c.atMs > campaigningMs).length >= 2, { timeoutMs: 3 * RETRY_MS + 5000, message: 'a renews' });

    via.proxy.pause();
    const cutAt = Date.now();
    // The cut lasts until the leader has been seen renewing for 30 s.
    await eventually(() => watch.changes.some((c) => c.atMs >= cutAt + 30_000), { timeoutMs: 30_000 + RENEW_DEADLINE_MS, message: 'a renews through the cut' });
    assert.ok(b.logs().split('\n').some((l) => l.includes('Lease update failed') && Date.parse((JSON.parse(l) as { time: string }).time) >= cutAt),
      'b\'s Lease attempts failed while its link was held (the cut took effect)');
    via.proxy.resume();
    const healedAt = Date.now();

    // Until a has renewed past the moment a Lease dated from b's last look before the cut would have
    // looked expired, and a lease duration plus two retry periods after b could look again.
    const watchUntil = healedAt + LEASE_MS + 2 * RETRY_MS + 3000;
    await eventually(() => a.child.exitCode !== null || b.logs().includes('"Became leader"') || watch.changes.some((c) => c.atMs >= watchUntil),
      { timeoutMs: watchUntil - healedAt + RENEW_DEADLINE_MS, intervalMs: 100, message: 'a renews after healing' });
    assert.equal(a.child.exitCode, null, 'the leader is running');
    assert.equal(b.child.exitCode, null, 'the standby is running');
    assert.ok(!b.logs().includes('"Became leader"'), 'the healed standby did not become leader');
    assert.equal(metricValue(await scrape(a), 'pullsecret_sync_leader'), 1, 'a still leads');
    assert.equal(metricValue(await scrape(b), 'pullsecret_sync_leader'), 0, 'b is a standby');

    // At the API server: every change to the Lease since before the cut was a's, and a never went a
    // renew deadline without one.
    const stored = watch.changes.filter((c) => c.atMs >= campaigningMs);
    assert.deepEqual([...new Set(stored.map((c) => c.holder))], [a.name], 'only a wrote the Lease');
    const times = stored.map((c) => c.atMs);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    const maxGap = Math.max(...gaps);
    assert.ok(maxGap < RENEW_DEADLINE_MS, `a renewed at least every renew deadline (largest gap ${maxGap} ms)`);
    const renewalsWhileCut = stored.filter((c) => c.atMs >= cutAt && c.atMs < healedAt).length;
    assert.ok(renewalsWhileCut >= 10, `a kept renewing while b was cut off (${renewalsWhileCut} renewals in 30 s)`);
    console.error(`[faults d2] b cut off 30 s; ${renewalsWhileCut} renewals by a stored meanwhile; ${stored.length} Lease changes, all a's, largest gap ${maxGap} ms; b did not lead within ${watchUntil - healedAt} ms after healing`);
  } finally {
    await watch.stop();
  }
});
