// The informer against a real API server: it syncs, follows changes, keeps pods as metadata only, and
// keeps retrying through errors (here RBAC refusing it) until it can list, instead of stopping.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Informer } from '../../src/kube/informer.ts';
import { KubeRest } from '../../src/kube/rest.ts';
import type { KubeObject } from '../../src/kube/store.ts';
import { adminKubeConfig, mintToken, tokenKubeConfig } from '../testbed/clients.ts';
import { eventually, uniqueName } from '../support/eventually.ts';

const kc = adminKubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const rest = new KubeRest(kc);
const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops) await stop();
  rest.close();
});

function informer<T extends KubeObject>(r: KubeRest, opts: ConstructorParameters<typeof Informer<T>>[1]): Informer<T> {
  const inf = new Informer<T>(r, { backoffBaseMs: 50, backoffCapMs: 500, ...opts });
  inf.start();
  stops.push(() => inf.stop());
  return inf;
}

test('a namespace informer syncs and follows add, update and delete', async () => {
  const name = uniqueName('inf');
  const seen: string[] = [];
  const inf = informer<KubeObject>(rest, { resource: 'namespaces', path: '/api/v1/namespaces', labelSelector: `informer-test=${name}` });
  inf.on({ add: (o) => seen.push(`add ${o.metadata?.name ?? ''}`), update: (_, o) => seen.push(`update ${o.metadata?.labels?.step ?? ''}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name ?? ''}`) });
  await eventually(() => inf.hasSynced());
  await core.createNamespace({ body: { metadata: { name, labels: { 'informer-test': name, step: 'one' } } } });
  await eventually(() => inf.store.get(name));
  const patch = (labels: Record<string, string>) => rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${name}`,
    contentType: 'application/merge-patch+json', body: { metadata: { labels } } });
  await patch({ step: 'two' });
  await eventually(() => inf.store.get(name)?.metadata?.labels?.step === 'two');
  await patch({ 'informer-test': 'other' });
  await eventually(() => seen.includes(`delete ${name}`), { message: 'leaving the label selector reads as a delete' });
  assert.deepEqual(seen.slice(0, 2), [`add ${name}`, 'update two']);
  await core.deleteNamespace({ name });
});

test('pods are cached as metadata only', async () => {
  const namespace = uniqueName('meta');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await eventually(() => core.readNamespacedServiceAccount({ namespace, name: 'default' }));
  await core.createNamespacedPod({ namespace, body: { metadata: { name: 'p', labels: { app: 'x' } },
    spec: { containers: [{ name: 'c', image: 'example.invalid/app:1' }] } } });
  const inf = informer<KubeObject>(rest, { resource: 'pods', path: `/api/v1/namespaces/${namespace}/pods`, metadataOnly: true });
  const pod = await eventually(() => inf.store.get(`${namespace}/p`));
  assert.equal(pod.metadata?.labels?.app, 'x');
  assert.equal((pod as { spec?: unknown }).spec, undefined, 'no spec in the cache');
  assert.equal((pod as { kind?: string }).kind, 'PartialObjectMetadata');
  await core.deleteNamespace({ name: namespace });
});

test('the informer keeps retrying through a refusal and syncs once allowed', async () => {
  const namespace = uniqueName('retry');
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const token = await mintToken({ namespace, serviceAccount: 'watcher', create: true });
  const asWatcher = new KubeRest(tokenKubeConfig(token));
  stops.push(() => { asWatcher.close(); return Promise.resolve(); });
  const inf = informer<KubeObject>(asWatcher, { resource: 'configmaps', path: `/api/v1/namespaces/${namespace}/configmaps` });
  await eventually(() => inf.sinceProgress() >= 0 && !inf.hasSynced(), { message: 'refused at first' });
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'cm' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] }] } });
  await rbac.createNamespacedRoleBinding({ namespace, body: { metadata: { name: 'cm' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm' },
    subjects: [{ kind: 'ServiceAccount', name: 'watcher', namespace }] } });
  await eventually(() => inf.hasSynced(), { timeoutMs: 15_000, message: 'syncs after the RoleBinding' });
  await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after' } } });
  await eventually(() => inf.store.get(`${namespace}/after`), { message: 'and then watches' });
  await core.deleteNamespace({ name: namespace });
});
