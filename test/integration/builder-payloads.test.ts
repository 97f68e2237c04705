// Builder payload integrity on a standby: a replica that does not lead answers builders from the Secrets
// its resources wrote. A tenant who can create Secrets in a namespace of its own forges a managed Secret
// for a resource (owner label, ownerReference with the resource's UID, a matching data-hash): no builder
// answer changes. No leader runs here: the Lease is held by an absent replica for an hour, and the test
// writes the resources' status and Secrets as a leader would, so nothing races the forged Secret.
//
// Reproduction before the fix: the standby answered the forged credentials once it saw the forged Secret.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { DATA_HASH_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_LABEL } from '../../src/api/v1alpha1/labels.ts';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import { encodedDataHash } from '../../src/dockerconfig/index.ts';
import type { Secret } from '../../src/kube/objects.ts';
import { adminKubeConfig, mintToken } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, patchSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { metricValue, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { rememberSecret } from '../support/leaks.ts';

const X_REGISTRY = 'registry-x.payloads.test';
const Y_REGISTRY = 'registry-y.payloads.test';
const namespaces: string[] = [];
const resources: string[] = [];
let standby: DaemonProcess | undefined;

before(async () => { await installCrd(adminKubeConfig()); });

after(async () => {
  standby?.child.kill('SIGKILL');
  if (standby) await standby.exited;
  await deleteIpsAndWait(resources);
  for (const ns of namespaces) await deleteNamespace(ns);
  rest.close();
});

async function namespace(): Promise<string> {
  const ns = uniqueName('pl');
  namespaces.push(ns);
  return createNamespace(ns);
}

function payload(registry: string, password: string): string {
  return Buffer.from(JSON.stringify({ auths: { [registry]: { username: 'u', password: rememberSecret(password), auth: Buffer.from(`u:${password}`).toString('base64') } } })).toString('base64');
}

/** A Secret as the daemon writes it for `ips` (labels, data-hash, ownerReference by UID). */
function managedSecret(ips: ImagePullSecret, namespace: string, data: string): Secret {
  return {
    metadata: { name: ips.spec.target.secret.name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [OWNER_LABEL]: ips.metadata.name },
      annotations: { [DATA_HASH_ANNOTATION]: encodedDataHash(data) },
      ownerReferences: [{ apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', name: ips.metadata.name, uid: ips.metadata.uid ?? '' }] },
    type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': data },
  };
}

async function writeStatus(ips: ImagePullSecret, managed: string[]): Promise<void> {
  await rest.call({ method: 'PATCH', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${ips.metadata.name}/status`,
    contentType: 'application/merge-patch+json', body: { status: { managedNamespaces: managed, managedNamespaceCount: managed.length } } });
}

function credentials(token: string, serverURL: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${standby?.builderUrl ?? ''}/v1/credentials`, {
      method: 'POST', rejectUnauthorized: false, agent: false, timeout: 15_000,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timed out')); });
    req.on('error', reject);
    req.end(JSON.stringify({ serverURL }));
  });
}

test('a forged managed Secret in a tenant namespace changes no answer of a standby', { timeout: 120_000 }, async () => {
  const leaseNs = await namespace();
  const now = new Date().toISOString().replace(/\.\d+Z$/, '.000000Z');
  await rest.call({ method: 'POST', path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases`, body: {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'pullsecret-sync' },
    spec: { holderIdentity: 'absent-leader', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now } } });
  const team = await namespace();
  const tenant = await namespace();
  await createSecret({ metadata: { name: 'unused', namespace: team }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': payload('r.io', 'unused') } });
  const builder = { serviceAccounts: [{ namespace: team, name: 'builder' }] };
  const [xName, yName] = [uniqueName('plx'), uniqueName('ply')];
  resources.push(xName, yName);
  const x = await createIps(xName, { registry: { credentials: [{ name: 'unused', namespace: team }] }, target: { namespaces: { names: [team] }, secret: { name: 'pull' } }, builder });
  const y = await createIps(yName, { registry: { credentials: [{ name: 'unused', namespace: team }] }, target: { namespaces: { names: [team] }, secret: { name: 'pull-y' } }, builder });
  await writeStatus(x, [team]);
  await writeStatus(y, [team]);
  await createSecret(managedSecret(x, team, payload(X_REGISTRY, 'x-real')));
  await createSecret(managedSecret(y, team, payload(Y_REGISTRY, 'y-first')));

  standby = await spawnDaemon(uniqueName('standby'), [`--namespace=${leaseNs}`, '--leader-elect=true']);
  assert.equal(metricValue(await scrape(standby), 'pullsecret_sync_leader'), 0, 'the daemon is a standby');
  const token = rememberSecret(await mintToken({ namespace: team, serviceAccount: 'builder', audiences: ['pullsecret-sync'], create: true }));
  await eventually(async () => (await credentials(token, X_REGISTRY)).json.Secret === 'x-real', { timeoutMs: 30_000, intervalMs: 300, message: 'the standby serves X' });

  // The forgery: in the tenant's namespace, X's target name, labels, UID and a hash that matches.
  await createSecret(managedSecret(x, tenant, payload(X_REGISTRY, rememberSecret('x-forged'))));
  // A later event on the same watch: once the standby serves Y's new bytes, it has seen the forgery.
  await patchSecret(team, 'pull-y', { metadata: { annotations: { [DATA_HASH_ANNOTATION]: encodedDataHash(payload(Y_REGISTRY, 'y-second')) } },
    data: { '.dockerconfigjson': payload(Y_REGISTRY, 'y-second') } });
  await eventually(async () => (await credentials(token, Y_REGISTRY)).json.Secret === 'y-second', { timeoutMs: 30_000, intervalMs: 300, message: 'the standby serves Y\'s new bytes' });
  const answer = await credentials(token, X_REGISTRY);
  assert.deepEqual([answer.status, answer.json.Secret], [200, 'x-real'], 'the forged Secret changed nothing');

  // Without X's own Secret, only the forged one is left: the standby serves nothing for X.
  await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${team}/secrets/pull` });
  await eventually(async () => (await credentials(token, X_REGISTRY)).status === 404, { timeoutMs: 30_000, intervalMs: 300, message: 'X is served no more' });
  assert.equal(standby.child.exitCode, null);
});
