import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { desiredSecret, payloadOf } from '../../../../src/controller/decide/desired-secret.ts';
import { adoptedSecret, heldByImpsFor, IMPS_LAST_APPLIED_ANNOTATION, IMPS_OWNER_UID_LABEL } from '../../../../src/controller/decide/imps-adoption.ts';
import type { ObjectMeta } from '../../../../src/kube/objects.ts';

const ips = { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'platform', uid: 'new-uid' },
  spec: { registry: {}, target: { secret: { name: 'pull', labels: { team: 'a' } } } } } as ImagePullSecret;
const impsRef = { apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret', name: 'platform', uid: 'imps-uid', controller: false };

/** A Secret's metadata as IMPS writes it (controllers/imagepullsecret_reconciler.go in IMPS). */
const written = (over: Partial<ObjectMeta> = {}): ObjectMeta => ({
  name: 'pull', namespace: 'team-a', resourceVersion: '42',
  labels: { [IMPS_OWNER_UID_LABEL]: 'imps-uid', team: 'a', kept: 'yes' },
  annotations: { [IMPS_LAST_APPLIED_ANNOTATION]: 'UEsDBBQ…', note: 'kept' },
  ownerReferences: [impsRef], ...over,
});

test("IMPS's Secret for the resource of the same name is adoptable; nothing else is", () => {
  assert.equal(heldByImpsFor(written(), ips), true);
  const cases: [string, ObjectMeta][] = [
    ['no IMPS label', written({ labels: { team: 'a' } })],
    ['no ownerReference', written({ ownerReferences: [] })],
    ['owned by another IMPS resource', written({ ownerReferences: [{ ...impsRef, name: 'other' }] })],
    ['label and ownerReference disagree', written({ ownerReferences: [{ ...impsRef, uid: 'someone-else' }] })],
    ['an ownerReference of another API group', written({ ownerReferences: [{ ...impsRef, apiVersion: 'example.com/v1' }] })],
    ['a label inherited from the prototype', written({ labels: Object.create({ [IMPS_OWNER_UID_LABEL]: 'imps-uid' }) as Record<string, string> })],
  ];
  for (const [why, meta] of cases) assert.equal(heldByImpsFor(meta, ips), false, why);
});

test("the adopted Secret is ours and carries none of IMPS's marks; what others added stays", () => {
  const desired = desiredSecret(ips, 'team-a', payloadOf('{"auths":{}}'));
  const adopted = adoptedSecret({ metadata: written({ finalizers: ['example.com/keep'] }) }, desired);
  const { labels = {}, annotations = {} } = adopted.metadata;
  assert.equal(adopted.metadata.resourceVersion, '42', 'the replace is guarded by what was read');
  assert.deepEqual(adopted.metadata.ownerReferences, desired.metadata.ownerReferences);
  assert.equal(labels[IMPS_OWNER_UID_LABEL], undefined);
  assert.equal(labels.kept, 'yes');
  assert.equal(labels['pullsecret-sync.dev/owner'], 'platform');
  assert.equal(annotations[IMPS_LAST_APPLIED_ANNOTATION], undefined);
  assert.equal(annotations.note, 'kept');
  assert.deepEqual(adopted.metadata.finalizers, ['example.com/keep']);
  assert.deepEqual(adopted.data, desired.data);
});
