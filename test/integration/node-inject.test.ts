// Injection at pod admission on the testbed's real node, as GitOps applies a workload: each namespace is
// created with a Deployment in it right behind it, its pods name no pull Secret and use a private image.
// With `target.pods.inject`, every pod carries the entry from the moment it is admitted, every pod runs,
// and not one pull fails. The same holds with two replicas while the leader is killed during a burst of
// pod creations.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKubeConfig } from '../testbed/clients.ts';
import { pushPrivateImage } from '../testbed/images.ts';
import { NODE_TOLERATION } from '../testbed/node.ts';
import { currentTestbed, ensureNode } from '../testbed/testbed.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, readyCondition, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { POD_DEADLINE_MS, pullFailures, type Pod } from '../support/node-pods.ts';

const NAMESPACES = 10;

const daemons: DaemonProcess[] = [];
const created: string[] = [];
const resources: string[] = [];
const secretName = uniqueName('injected');
const selectKey = `node-inject-${Date.now().toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), 'node-inject-'));
let image = '';
let leaseNs = '';

before(async () => {
  await ensureNode();
  const registry = currentTestbed().registry;
  const user = registry?.users[0];
  assert.ok(registry && user, 'the bed runs a registry with a user');
  image = `${registry.host}/private/${uniqueName('app')}:1`;
  await pushPrivateImage(workDir, image, registry.certDir, user);
  await installCrd(adminKubeConfig());
  const sourceNs = await ns();
  leaseNs = await ns();
  await createSecret(dockerConfigSecret(sourceNs, 'registry', { [registry.host]: user }));
  // Two replicas with leader election; the admission engine is what discovery finds on this cluster.
  for (const name of ['inject-a', 'inject-b']) daemons.push(await spawnDaemon(uniqueName(name), [`--namespace=${leaseNs}`]));
  const name = uniqueName('node-inject');
  resources.push(name);
  await createIps(name, {
    registry: { credentials: [{ name: 'registry', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [selectKey]: 'yes' } }] }, secret: { name: secretName }, pods: { inject: true } },
  });
  await eventually(async () => (await readyCondition(name))?.status === 'True', { message: `${name} is Ready` });
  // A platform team applies the resource before the namespaces it serves: wait until admission injects
  // (a server-side dry run writes nothing).
  const probe = await ns({ [selectKey]: 'yes' });
  await eventually(async () => {
    const pod = await rest.call<Pod>({ method: 'POST', path: `/api/v1/namespaces/${probe}/pods?dryRun=All`, body: podTemplate('probe') });
    return (pod.spec?.imagePullSecrets ?? []).some((s) => s.name === secretName);
  }, { timeoutMs: 30_000, message: 'admission adds the entry' });
});

after(async () => {
  await deleteIpsAndWait(resources, 30_000);
  for (const daemon of daemons) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  for (const name of created) await deleteNamespace(name);
  rest.close();
  rmSync(workDir, { recursive: true, force: true });
});

async function ns(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('inject');
  created.push(name);
  return createNamespace(name, labels);
}

function podTemplate(name?: string): object {
  return {
    metadata: { ...(name ? { name } : {}), labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image }], tolerations: [NODE_TOLERATION], terminationGracePeriodSeconds: 1, automountServiceAccountToken: false },
  };
}

/** A namespace and, right behind it, a one-replica Deployment whose pods name no pull Secret. */
async function namespaceWithDeployment(): Promise<string> {
  const name = await ns({ [selectKey]: 'yes' });
  await rest.call({ method: 'POST', path: `/apis/apps/v1/namespaces/${name}/deployments`, body: {
    metadata: { name: 'web' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: podTemplate() },
  } });
  return name;
}

async function podsOf(namespace: string): Promise<Pod[]> {
  return (await rest.call<{ items: Pod[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods` })).items;
}

/** Waits until each namespace's Deployment has a Running pod; resolves every pod admitted meanwhile. */
async function runningPods(namespaces: readonly string[]): Promise<Pod[]> {
  return eventually(async () => {
    const pods = (await Promise.all(namespaces.map(podsOf)));
    return pods.every((list) => list.some((p) => p.status?.phase === 'Running')) ? pods.flat() : undefined;
  }, { timeoutMs: POD_DEADLINE_MS * 2, intervalMs: 500, message: `a Running pod in each of ${namespaces.length} namespaces` });
}

const carries = (pod: Pod): boolean => (pod.spec?.imagePullSecrets ?? []).some((s) => s.name === secretName);

test('namespaces applied together with a Deployment: every pod carries the entry, runs, and no pull fails', async () => {
  const namespaces = await Promise.all(Array.from({ length: NAMESPACES }, namespaceWithDeployment));
  const pods = await runningPods(namespaces);
  assert.deepEqual(pods.filter((p) => !carries(p)).map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`), [], 'every pod carries the entry');
  assert.deepEqual((await Promise.all(namespaces.map(pullFailures))).flat(), [], 'no pull failed, not even once before a retry');
});

test('the leader killed during a burst of pod creations: no admitted pod misses its entry', async () => {
  const lease = await rest.call<{ spec?: { holderIdentity?: string } }>({ method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases/pullsecret-sync` });
  const leader = daemons.find((d) => d.name === lease.spec?.holderIdentity);
  assert.ok(leader, 'one of the two replicas leads');
  const burst = Promise.all(Array.from({ length: NAMESPACES }, namespaceWithDeployment));
  leader.child.kill('SIGKILL');
  await leader.exited;
  const namespaces = await burst;
  const pods = await runningPods(namespaces);
  assert.deepEqual(pods.filter((p) => !carries(p)).map((p) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`), [], 'every pod carries the entry');
});
