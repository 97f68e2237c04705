import assert from 'node:assert/strict';
import { test } from 'node:test';
import { desiredSecret, updatedSecret, upToDate } from '../../../src/controller/desired-secret.ts';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';

const ips = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
  metadata: { name: 'platform', uid: 'uid-1' },
  spec: { registry: {}, target: { secret: { name: 'pull', labels: { team: 'a' }, annotations: { note: 'x' } } } },
} as ImagePullSecret;
const rendered = { bytes: '{"auths":{}}', hash: 'sha256:abc' };

test('the desired Secret carries type, labels, annotations, ownerReference and data', () => {
  const s = desiredSecret(ips, 'ns', rendered);
  assert.equal(s.type, 'kubernetes.io/dockerconfigjson');
  assert.deepEqual(s.metadata.labels, { team: 'a', 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': 'platform' });
  assert.equal(s.metadata.annotations?.note, 'x');
  assert.equal(s.metadata.ownerReferences?.[0]?.uid, 'uid-1');
  assert.equal(Buffer.from(s.data?.['.dockerconfigjson'] ?? '', 'base64').toString(), rendered.bytes);
});

test('upToDate ignores what others added and notices every change of ours', async (t) => {
  const want = desiredSecret(ips, 'ns', rendered);
  const extra = { ...want, metadata: { ...want.metadata, labels: { ...want.metadata.labels, extra: '1' } } };
  await t.test('identical', () => { assert.equal(upToDate(want, want), true); });
  await t.test('extra label from someone else', () => { assert.equal(upToDate(extra, want), true); });
  await t.test('data edited', () => { assert.equal(upToDate({ ...want, data: { '.dockerconfigjson': 'e30=' } }, want), false); });
  await t.test('extra data key', () => { assert.equal(upToDate({ ...want, data: { ...want.data, other: 'eA==' } }, want), false); });
  await t.test('our label removed', () => {
    assert.equal(upToDate({ ...want, metadata: { ...want.metadata, labels: { team: 'a' } } }, want), false);
  });
  await t.test('type changed', () => { assert.equal(upToDate({ ...want, type: 'Opaque' }, want), false); });
  await t.test('ownerReference dropped', () => {
    assert.equal(upToDate({ ...want, metadata: { ...want.metadata, ownerReferences: [] } }, want), false);
  });
  await t.test('an update keeps foreign labels and the resourceVersion', () => {
    const existing = { ...extra, metadata: { ...extra.metadata, resourceVersion: '7' }, data: {} };
    const next = updatedSecret(existing, want);
    assert.equal(next.metadata.resourceVersion, '7');
    assert.equal(next.metadata.labels?.extra, '1');
    assert.deepEqual(next.data, want.data);
  });
});
