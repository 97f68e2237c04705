import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownedBy, speaksFor, toManagedSecret, WrittenPayloads } from '../../../../src/controller/watch/managed-secret.ts';
import { payloadOf } from '../../../../src/controller/decide/desired-secret.ts';
import { dataHash } from '../../../../src/dockerconfig/index.ts';

const secret = (owner: string, bytes: string, hash = dataHash(bytes)) => ({
  metadata: { name: 'pull', namespace: `ns-${bytes.length}`, labels: { 'pullsecret-sync.dev/owner': owner },
    annotations: { 'pullsecret-sync.dev/data-hash': hash } },
  type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(bytes).toString('base64') },
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('one copy of the payload per resource, served only while one of its Secrets still carries it intact', () => {
  const written = new WrittenPayloads();
  const first = toManagedSecret(secret('a', '{"auths":{}}'));
  assert.equal(first.secret.intact, true);
  written.observe(first.secret, first.data);
  assert.equal(written.of('a', [first.secret]), b64('{"auths":{}}'));
  const tampered = toManagedSecret(secret('a', '{"auths":{"x":{}}}', dataHash('{"auths":{}}')));
  assert.equal(tampered.secret.intact, false);
  assert.equal(tampered.data, undefined);
  written.observe(tampered.secret, tampered.data);
  assert.equal(written.of('a', [tampered.secret]), undefined, 'no intact Secret carries the held bytes');
  assert.equal(written.of('a', []), undefined);
  assert.equal(written.of('b', [first.secret]), undefined);
});

test('a render and the Secrets written from it share one copy of the payload', () => {
  const written = new WrittenPayloads();
  const rendered = payloadOf('{"auths":{"r.io":{"auth":"dTpw"}}}');
  assert.equal(written.share('a', rendered), rendered);
  const event = toManagedSecret(secret('a', '{"auths":{"r.io":{"auth":"dTpw"}}}'));
  written.observe(event.secret, event.data);
  assert.equal(written.share('a', payloadOf('{"auths":{"r.io":{"auth":"dTpw"}}}')), rendered, 'the same payload rendered again is the held copy');
  const next = payloadOf('{"auths":{}}');
  assert.equal(written.share('a', next), next, 'a changed payload replaces the held one');
});

const resource = (status?: { managedNamespaces: string[]; managedNamespaceCount?: number }, deleting = false) => ({
  apiVersion: 'pullsecret-sync.dev/v1alpha1' as const, kind: 'ImagePullSecret' as const,
  metadata: { name: 'a', uid: 'uid-a', ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { registry: {}, target: { secret: { name: 'pull' } } }, ...(status ? { status } : {}),
});

function owned(namespace: string, bytes: string, ref: { kind: string; uid: string } | null = { kind: 'ImagePullSecret', uid: 'uid-a' }, name = 'pull') {
  const raw = secret('a', bytes);
  return toManagedSecret({ ...raw, metadata: { ...raw.metadata, name, namespace,
    ...(ref ? { ownerReferences: [{ apiVersion: 'pullsecret-sync.dev/v1alpha1', name: 'a', ...ref }] } : {}) } });
}

test('a Secret speaks for a resource when the live resource owns it by UID, by its target name, in a namespace its status lists', () => {
  const listed = resource({ managedNamespaces: ['team-a'] });
  const good = owned('team-a', '{"auths":{}}').secret;
  assert.equal(speaksFor(listed, good), true);
  assert.equal(speaksFor(undefined, good), false, 'no resource');
  assert.equal(speaksFor(resource({ managedNamespaces: ['team-a'] }, true), good), false, 'a resource being deleted');
  assert.equal(speaksFor(listed, owned('team-a', '{}', null).secret), false, 'the owner label alone');
  assert.equal(speaksFor(listed, owned('team-a', '{}', { kind: 'ImagePullSecret', uid: 'uid-old' }).secret), false, 'another UID');
  assert.equal(speaksFor(listed, owned('team-a', '{}', { kind: 'ImagePullSecret', uid: 'uid-a' }, 'other').secret), false, 'another name');
  assert.equal(speaksFor(listed, owned('tenant', '{}').secret), false, 'a namespace the status does not list');
  assert.equal(ownedBy(listed, owned('tenant', '{}').secret), true);
  assert.equal(speaksFor(resource({ managedNamespaces: ['team-a'], managedNamespaceCount: 900 }), owned('tenant', '{}').secret), true,
    'past the listed namespaces the namespace cannot be checked');
  assert.equal(speaksFor(resource(), owned('tenant', '{}').secret), true, 'no status yet');
});

test('a forged managed Secret changes no answer and does not displace the real payload; a deleted resource\'s payload goes', () => {
  const ips = resource({ managedNamespaces: ['team-a'] });
  const written = new WrittenPayloads();
  const real = owned('team-a', '{"auths":{"r.io":{}}}');
  written.observe(real.secret, real.data, ownedBy(ips, real.secret));
  const unowned = owned('tenant', '{"auths":{"evil.io":{}}}', null);
  written.observe(unowned.secret, unowned.data, ownedBy(ips, unowned.secret));
  const forged = owned('tenant', '{"auths":{"evil.io":{"x":1}}}');
  written.observe(forged.secret, forged.data, ownedBy(ips, forged.secret));
  const trusted = (s: Parameters<typeof speaksFor>[1]) => speaksFor(ips, s);
  const all = [real.secret, unowned.secret, forged.secret];
  assert.equal(written.of('a', all, trusted), b64('{"auths":{"r.io":{}}}'));
  assert.equal(written.of('a', [forged.secret, unowned.secret], trusted), undefined, 'only forged Secrets left: nothing is served');
  written.observe(real.secret, real.data, true);
  assert.equal(written.of('a', all, trusted), b64('{"auths":{"r.io":{}}}'));
  written.forget('a');
  assert.equal(written.of('a', all, trusted), undefined);
});
