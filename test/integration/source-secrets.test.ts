// Source Secrets against a real API server (docs/adr/0005-memory-design.md): one parsed copy per source Secret,
// shared by every resource that names it, replaced when the Secret changes and released when it goes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ImagePullSecret } from '../../src/api/v1alpha1/types.ts';
import { SourceResolver } from '../../src/controller/decide/sources.ts';
import { SourceSecrets } from '../../src/controller/watch/source-secrets.ts';
import { createNamespace, createSecret, deleteNamespace, deleteSecret, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { collected } from '../support/collected.ts';
import { eventually } from '../support/eventually.ts';

const namespace = uniqueName('src');
const ref = `${namespace}/hub`;
const secrets = new SourceSecrets(rest, {});
const resolver = new SourceResolver(secrets);

before(async () => {
  await createNamespace(namespace);
  await createSecret(dockerConfigSecret(namespace, 'hub', { 'r.io': { username: 'u', password: 'FIRST-PASSWORD-13' } }));
});

after(async () => {
  await secrets.stop();
  await deleteNamespace(namespace);
});

const ips = (name: string) => ({ metadata: { name }, spec: { registry: { credentials: [{ name: 'hub', namespace }] },
  target: { secret: { name: 'pull' } } } }) as ImagePullSecret;

/**
 * Once the watch shows resourceVersion `rv` (any, when omitted), resolves the source for two resources,
 * checks that they read the very same parsed entries, and returns a weak reference to those.
 */
async function sharedCopy(rv?: string): Promise<WeakRef<object>> {
  await eventually(() => { const s = secrets.get(ref); return s.kind === 'found' && (rv === undefined || s.secret.metadata.resourceVersion === rv); });
  const [[a], [b]] = await Promise.all([resolver.resolve(ips('a'), new Date()), resolver.resolve(ips('b'), new Date())]);
  assert.ok(a && b);
  assert.deepEqual(a.entries.map((e) => e.registry), ['r.io']);
  assert.equal(a.entries, b.entries, 'both resources read the same parsed entries');
  return new WeakRef(a.entries);
}

test('resources share one parsed copy of a source, an edit replaces it and a delete releases it', async () => {
  secrets.use('a', [ref]);
  secrets.use('b', [ref]);
  const first = await sharedCopy();
  const edited = dockerConfigSecret(namespace, 'hub', { 'r.io': { username: 'u', password: 'SECOND-PASSWORD-13' } });
  const put = await rest.call<{ metadata: { resourceVersion: string } }>({ method: 'PUT', path: `/api/v1/namespaces/${namespace}/secrets/hub`, body: edited });
  const second = await sharedCopy(put.metadata.resourceVersion);
  assert.notEqual(second.deref(), first.deref(), 'the edit gave a new parsed copy');
  assert.ok(await collected(first), 'the copy of the old version is released');

  await deleteSecret(namespace, 'hub');
  await eventually(() => secrets.get(ref).kind === 'missing', { message: 'the watch sees the delete' });
  const [[a], [b]] = await Promise.all([resolver.resolve(ips('a'), new Date()), resolver.resolve(ips('b'), new Date())]);
  assert.deepEqual([a?.error, b?.error], ['Secret not found', 'Secret not found']);
  assert.ok(await collected(second), 'nothing of the deleted source is held');
});
