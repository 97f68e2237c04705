import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desiredSecret, payloadOf, updatedSecret, upToDate } from '../../../../src/controller/decide/desired-secret.ts';
import { toManagedSecret } from '../../../../src/controller/watch/managed-secret.ts';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { dataHash } from '../../../../src/dockerconfig/index.ts';
import type { Secret } from '../../../../src/kube/objects.ts';

const ips = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
  metadata: { name: 'platform', uid: 'uid-1' },
  spec: { registry: {}, target: { secret: { name: 'pull', labels: { team: 'a' }, annotations: { note: 'x' } } } },
} as ImagePullSecret;
const rendered = payloadOf('{"auths":{}}');

test('the desired Secret carries type, labels, annotations, ownerReference and data', () => {
  const s = desiredSecret(ips, 'ns', rendered);
  assert.equal(s.type, 'kubernetes.io/dockerconfigjson');
  assert.deepEqual(s.metadata.labels, { team: 'a', 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': 'platform' });
  assert.equal(s.metadata.annotations?.note, 'x');
  assert.equal(s.metadata.ownerReferences?.[0]?.uid, 'uid-1');
  assert.equal(Buffer.from(s.data?.['.dockerconfigjson'] ?? '', 'base64').toString(), '{"auths":{}}');
  assert.equal(s.metadata.annotations['pullsecret-sync.dev/data-hash'], dataHash('{"auths":{}}'));
});

test('upToDate, on the cached form of a Secret, ignores what others added and notices every change of ours', async (t) => {
  const want = desiredSecret(ips, 'ns', rendered);
  // What the cache holds for a Secret as the API server returns it: metadata and the verdict on its data.
  const cached = (s: Secret) => toManagedSecret(JSON.parse(JSON.stringify(s))).secret;
  const extra = { ...want, metadata: { ...want.metadata, labels: { ...want.metadata.labels, extra: '1' } } };
  await t.test('identical', () => { assert.equal(upToDate(cached(want), want), true); });
  await t.test('the cache keeps no data', () => { assert.equal(Object.hasOwn(cached(want), 'data'), false); });
  await t.test('extra label from someone else', () => { assert.equal(upToDate(cached(extra), want), true); });
  await t.test('data edited, annotation kept', () => { assert.equal(upToDate(cached({ ...want, data: { '.dockerconfigjson': 'e30=' } }), want), false); });
  await t.test('data and annotation edited together', () => {
    const other = desiredSecret(ips, 'ns', payloadOf('{}'));
    assert.equal(upToDate(cached(other), want), false);
  });
  await t.test('extra data key', () => { assert.equal(upToDate(cached({ ...want, data: { ...want.data, other: 'eA==' } }), want), false); });
  await t.test('our label removed', () => {
    assert.equal(upToDate(cached({ ...want, metadata: { ...want.metadata, labels: { team: 'a' } } }), want), false);
  });
  await t.test('type changed', () => { assert.equal(upToDate(cached({ ...want, type: 'Opaque' }), want), false); });
  await t.test('ownerReference dropped', () => {
    assert.equal(upToDate(cached({ ...want, metadata: { ...want.metadata, ownerReferences: [] } }), want), false);
  });
  await t.test('an update keeps foreign labels and the resourceVersion', () => {
    const existing = cached({ ...extra, metadata: { ...extra.metadata, resourceVersion: '7' }, data: {} });
    const next = updatedSecret(existing, want);
    assert.equal(next.metadata.resourceVersion, '7');
    assert.equal(next.metadata.labels?.extra, '1');
    assert.deepEqual(next.data, want.data);
  });
  await t.test("a repair keeps others' finalizers and ownerReferences", () => {
    const theirs = { apiVersion: 'example.com/v1', kind: 'Keeper', name: 'k', uid: 'k-uid' };
    const stale = { ...(want.metadata.ownerReferences?.[0] ?? theirs), uid: 'old-uid' };
    const existing = cached({ ...want, metadata: { ...want.metadata, finalizers: ['example.com/keep'], ownerReferences: [theirs, stale] }, data: {} });
    const next = updatedSecret(existing, want);
    assert.deepEqual(next.metadata.finalizers, ['example.com/keep']);
    assert.deepEqual(next.metadata.ownerReferences, [theirs, ...(want.metadata.ownerReferences ?? [])]);
  });
});
