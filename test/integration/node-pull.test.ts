// What the daemon exists for, on the testbed's real node: a kubelet pulls a private image with the Secret
// the daemon wrote. Namespaces are created with their pod right behind them (no wait between the two),
// as a GitOps apply does; every pod must run, and no pod admitted once its Secret existed may fail a pull
// (those admitted earlier are counted: the race the comment above the first test describes). A pod in a
// namespace no resource selects is the control: its pull is refused, so the credential is what made the others work.
// Registry keys spelled as users spell them pull where the kubelet's lookup says they should and not
// where it says they should not; and ServiceAccount patching is measured against pod admission.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKubeConfig } from '../testbed/clients.ts';
import { pushPrivateImage } from '../testbed/images.ts';
import { currentTestbed, ensureNode } from '../testbed/testbed.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, readyCondition, rest, uniqueName,
} from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { allRunning, createNodePod, pullFailures, pullOutcome, readPod, type Pod } from '../support/node-pods.ts';

const NAMESPACES = 5;

let daemon: DaemonProcess | undefined;
let image = '';
let host = '';
let sourceNs = '';
const created: string[] = [];
const resources: string[] = [];
const secretName = uniqueName('pull');
const selectKey = `node-pull-${Date.now().toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), 'node-pull-'));

before(async () => {
  await ensureNode();
  const bed = currentTestbed();
  const registry = bed.registry;
  const user = registry?.users[0];
  assert.ok(registry && user, 'the bed runs a registry with a user');
  host = registry.host;
  image = `${host}/private/${uniqueName('app')}:1`;
  for (const ref of [image, `${host}/team-a/app:1`, `${host}/team-b/app:1`]) await pushPrivateImage(workDir, ref, registry.certDir, user);
  await installCrd(adminKubeConfig());
  // Its own process, as in a cluster: the test's own work never delays the daemon's event loop.
  daemon = await spawnDaemon(uniqueName('node-pull'), ['--leader-elect=false']);
  sourceNs = await ns();
  await createSecret(dockerConfigSecret(sourceNs, 'registry', { [host]: user }));
  await ips('yes', 'registry');
});

/**
 * A resource selecting namespaces labelled `selectKey=<value>`, with the source Secret `source`; resolves
 * once the daemon reports it Ready, as a platform team applies a resource before the namespaces it serves.
 */
async function ips(value: string, source: string, extra: object = {}): Promise<void> {
  const name = uniqueName('node-pull');
  resources.push(name);
  await createIps(name, {
    registry: { credentials: [{ name: source, namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [selectKey]: value } }] }, secret: { name: secretName }, ...extra },
  });
  await eventually(async () => (await readyCondition(name))?.status === 'True', { message: `${name} is Ready` });
}

after(async () => {
  await deleteIpsAndWait(resources);
  if (daemon) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  for (const name of created) await deleteNamespace(name);
  rest.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function ns(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('node');
  created.push(name);
  return createNamespace(name, labels);
}

/** A pod on the node running `ref` (the private image by default), naming the pull Secret unless told not to. */
function createPod(namespace: string, ref = image, namesSecret = true, name = 'app'): Promise<Pod> {
  return createNodePod(namespace, { image: ref, name, ...(namesSecret ? { pullSecret: secretName } : {}) });
}

/**
 * When (this process's clock) each namespace's Secret `secretName` first appeared: a watch from the list's
 * resourceVersion, so no Secret created after this resolves can be missed.
 */
async function secretArrivals(signal: AbortSignal): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const query = { fieldSelector: `metadata.name=${secretName}` };
  const list = await rest.call<{ metadata?: { resourceVersion?: string } }>({ method: 'GET', path: '/api/v1/secrets', query });
  void rest.watch({ path: '/api/v1/secrets', query: { ...query, resourceVersion: list.metadata?.resourceVersion ?? '', timeoutSeconds: '120' } }, (e) => {
    const namespace = (e.object as { metadata?: { namespace?: string } }).metadata?.namespace;
    if (e.type === 'ADDED' && namespace && !seen.has(namespace)) seen.set(namespace, Date.now());
  }, signal).catch(() => undefined);
  return seen;
}

// The kubelet reads a pod's pull Secrets when it first syncs the pod, before its sandbox (BENCHMARKS.md,
// "Pods on the testbed's node"). A pod admitted before the daemon has written its namespace's Secret is
// therefore in a race among the controller manager (whose `default` ServiceAccount admission waits for),
// the scheduler, the kubelet and the daemon, which no test may depend on: such pods are counted and must
// run, and a failed first pull is allowed to them alone. A pod admitted once its Secret existed must never
// fail a pull.
test('pods created right behind their namespace pull the private image with the Secret the daemon wrote', async (t) => {
  const stop = new AbortController();
  const arrivals = await secretArrivals(stop.signal);
  const admitted = new Map<string, { started: number; at: number }>();
  try {
    const namespaces = await Promise.all(Array.from({ length: NAMESPACES }, async () => {
      const started = Date.now();
      const name = await ns({ [selectKey]: 'yes' });
      await createPod(name);
      admitted.set(name, { started, at: Date.now() });
      return name;
    }));
    await allRunning(namespaces);
    const secretAt = (n: string): number => arrivals.get(n) ?? Number.NaN;
    await eventually(() => namespaces.every((n) => arrivals.has(n)), { timeoutMs: 10_000, message: 'the watch saw every namespace\'s Secret' });
    // Admitted before the Secret was seen: the pod's create answer came first.
    const raced = new Set(namespaces.filter((n) => (admitted.get(n)?.at ?? 0) < secretAt(n)));
    const failures = await Promise.all(namespaces.map(async (n) => [n, await pullFailures(n)] as const));
    const failedRaced = failures.filter(([n, f]) => f.length > 0 && raced.has(n)).length;
    t.diagnostic(`${String(raced.size)} of ${String(NAMESPACES)} pods admitted before their Secret was seen, ${String(failedRaced)} of them with a failed first pull; `
      + namespaces.map((n) => {
        const { started = 0, at = 0 } = admitted.get(n) ?? {};
        return `${n}: pod ${String(at - started)} ms, Secret ${String(secretAt(n) - started)} ms`;
      }).join('; '));
    assert.deepEqual(failures.filter(([n]) => !raced.has(n)).flatMap(([, f]) => f), [], 'no pod admitted after its Secret existed failed a pull');
  } finally {
    stop.abort();
  }
});

test('a pod in a namespace no resource selects cannot pull the image: the credential is what works', async () => {
  const name = await ns();
  await createPod(name);
  assert.equal(await pullOutcome(name), 'pull failed');
});

test('registry keys as users spell them pull where the kubelet looks them up, and only there', async () => {
  const user = currentTestbed().registry?.users[0];
  assert.ok(user);
  // A scheme, and a path: the kubelet matches `host/team-a` to images under team-a/ only.
  await createSecret(dockerConfigSecret(sourceNs, 'with-scheme', { [`https://${host}`]: user }));
  await createSecret(dockerConfigSecret(sourceNs, 'with-path', { [`${host}/team-a`]: user }));
  await ips('scheme', 'with-scheme');
  await ips('path', 'with-path');
  const scheme = await ns({ [selectKey]: 'scheme' });
  const path = await ns({ [selectKey]: 'path' });
  await createPod(scheme, `${host}/team-b/app:1`);
  await createPod(path, `${host}/team-a/app:1`);
  await createPod(path, `${host}/team-b/app:1`, true, 'outside');
  assert.deepEqual(await Promise.all([pullOutcome(scheme), pullOutcome(path), pullOutcome(path, 'outside')]),
    ['Running', 'Running', 'pull failed']);
});

test('ServiceAccount patching races pod admission: pods admitted before the entry never get it', async (t) => {
  await ips('sa', 'registry', { serviceAccounts: { names: ['default'] } });
  const namespaces = await Promise.all(Array.from({ length: NAMESPACES * 2 }, async () => {
    const name = await ns({ [selectKey]: 'sa' });
    await createPod(name, image, false);
    return name;
  }));
  const pods = await Promise.all(namespaces.map((n) => readPod(n)));
  const missed = pods.filter((p) => !(p.spec?.imagePullSecrets ?? []).some((s) => s.name === secretName)).length;
  t.diagnostic(`${missed} of ${pods.length} pods created right behind their namespace missed the ServiceAccount entry`);
  // A pod admitted after the entry landed carries it and runs: the entry itself works. Admission reads
  // ServiceAccounts from the API server's own cache, which may trail a read of the ServiceAccount: wait
  // until admission itself (a dry run) copies the entry.
  const late = namespaces[0] ?? assert.fail('no namespace');
  const carries = (p: Pod) => (p.spec?.imagePullSecrets ?? []).some((s) => s.name === secretName);
  await eventually(async () => carries(await createNodePod(late, { image, name: 'late', dryRun: true })),
    { message: 'admission copies the default ServiceAccount\'s entry' });
  const admitted = await createPod(late, image, false, 'late');
  assert.ok(carries(admitted), 'a pod admitted later gets the entry');
  assert.equal(await pullOutcome(late, 'late'), 'Running');
});
