// Small helpers over the test API server for the controller tests: namespaces, Secrets, resources,
// and reads that answer "absent" instead of throwing.
import { KubeRest, isStatus } from '../../src/kube/rest.ts';
import type { Secret } from '../../src/kube/objects.ts';
import type { ImagePullSecret, ImagePullSecretSpec } from '../../src/api/v1alpha1/types.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { eventually, uniqueName } from './eventually.ts';
import { rememberSecret } from './leaks.ts';

export const rest = new KubeRest(adminKubeConfig(), { qps: 1000, burst: 1000 });
const ipsPath = '/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets';

export async function createNamespace(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
  await rest.call({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name, labels, annotations } } });
  return name;
}

export function patchNamespace(name: string, metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> }): Promise<unknown> {
  return rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${name}`, contentType: 'application/merge-patch+json', body: { metadata } });
}

export function deleteNamespace(name: string): Promise<unknown> {
  return rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch(() => undefined);
}

/** A kubernetes.io/dockerconfigjson Secret with one `auth` entry per registry. */
export function dockerConfigSecret(namespace: string, name: string, auths: Record<string, { username: string; password: string }>): Secret {
  const entries = Object.fromEntries(Object.entries(auths).map(([registry, { username, password }]) =>
    [registry, { username, password: rememberSecret(password), auth: Buffer.from(`${username}:${password}`).toString('base64') }]));
  return {
    metadata: { name, namespace }, type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: entries })).toString('base64') },
  };
}

export function createSecret(secret: Secret): Promise<Secret> {
  return rest.call<Secret>({ method: 'POST', path: `/api/v1/namespaces/${secret.metadata.namespace ?? ''}/secrets`, body: secret });
}

export async function readSecret(namespace: string, name: string): Promise<Secret | undefined> {
  try {
    return await rest.call<Secret>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/${name}` });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

/** The decoded `.dockerconfigjson` of a Secret. */
export function dockerConfigOf(secret: Secret): { auths: Record<string, { auth: string; username?: string; password?: string }> } {
  return JSON.parse(Buffer.from(secret.data?.['.dockerconfigjson'] ?? '', 'base64').toString()) as never;
}

export function waitForSecret(namespace: string, name: string, timeoutMs = 5000): Promise<Secret> {
  return eventually(() => readSecret(namespace, name), { timeoutMs, message: `Secret ${namespace}/${name} appears` });
}

export function waitForNoSecret(namespace: string, name: string, timeoutMs = 5000): Promise<true> {
  return eventually(async () => (await readSecret(namespace, name)) === undefined || false, { timeoutMs, message: `Secret ${namespace}/${name} disappears` });
}

export async function createIps(name: string, spec: ImagePullSecretSpec): Promise<ImagePullSecret> {
  return rest.call<ImagePullSecret>({ method: 'POST', path: ipsPath,
    body: { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name }, spec } });
}

export function patchIps(name: string, spec: Partial<ImagePullSecretSpec>): Promise<unknown> {
  return rest.call({ method: 'PATCH', path: `${ipsPath}/${name}`, contentType: 'application/merge-patch+json', body: { spec } });
}

export async function readIps(name: string): Promise<ImagePullSecret | undefined> {
  try {
    return await rest.call<ImagePullSecret>({ method: 'GET', path: `${ipsPath}/${name}` });
  } catch (err) {
    if (isStatus(err, 404)) return undefined;
    throw err;
  }
}

export function deleteIps(name: string): Promise<unknown> {
  return rest.call({ method: 'DELETE', path: `${ipsPath}/${name}` }).catch(() => undefined);
}

/** Deletes resources and waits until they are gone (the daemon must still run to drop its finalizer). */
export async function deleteIpsAndWait(names: readonly string[], timeoutMs = 10_000): Promise<void> {
  for (const name of names) await deleteIps(name);
  for (const name of names) await eventually(async () => (await readIps(name)) === undefined || false, { timeoutMs, message: `${name} is gone` });
}

export function patchSecret(namespace: string, name: string, patch: object): Promise<unknown> {
  return rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${namespace}/secrets/${name}`, contentType: 'application/merge-patch+json', body: patch });
}

export function deleteSecret(namespace: string, name: string): Promise<unknown> {
  return rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}/secrets/${name}` });
}

/** Every Secret carrying the managed-by label, across namespaces, by namespace/name. */
export async function managedSecrets(): Promise<Map<string, Secret>> {
  const list = await rest.call<{ items: Secret[] }>({ method: 'GET',
    path: `/api/v1/secrets?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=pullsecret-sync')}` });
  return new Map(list.items.map((s) => [`${s.metadata.namespace ?? ''}/${s.metadata.name}`, s]));
}

export async function readyCondition(name: string) {
  return (await readIps(name))?.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Events (events.k8s.io/v1) regarding a cluster-scoped resource, from every namespace. */
export async function eventsFor(name: string): Promise<{ reason?: string; note?: string; type?: string }[]> {
  const list = await rest.call<{ items: { reason?: string; note?: string; type?: string; regarding?: { name?: string; kind?: string } }[] }>({
    method: 'GET', path: '/apis/events.k8s.io/v1/events' });
  return list.items.filter((e) => e.regarding?.kind === 'ImagePullSecret' && e.regarding.name === name);
}

/** Creates a pod, retrying while the namespace's `default` ServiceAccount (needed by admission) is missing. */
export function createPod(namespace: string, name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<unknown> {
  return eventually(() => rest.call({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body: {
    metadata: { name, labels, annotations }, spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] } } }),
  { message: `pod ${namespace}/${name} is admitted` });
}

export { uniqueName };
