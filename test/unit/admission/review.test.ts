import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerReview, type AdmissionView, type JsonPatchOp } from '../../../src/admission/index.ts';
import { applyPatch, namespace, resource } from './support.ts';

const view: AdmissionView = {
  namespace: (name) => (name === 'gone' ? undefined : namespace(name)),
  resources: () => [resource('a', { namespaces: { names: ['team-a'] } })],
  ownNamespace: 'pullsecret-sync',
};

const podObject = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'r.io/app' }], imagePullSecrets: [{ name: 'mine' }] } };

const review = (request: Record<string, unknown> = {}) => ({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: {
    uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'team-a', operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
    object: podObject, dryRun: false, ...request,
  },
});

test('a selected pod: allowed, with a base64 JSON patch that appends the entry', () => {
  const { review: out, decision, request } = answerReview(review(), view);
  assert.equal(decision.outcome, 'mutated');
  assert.equal(request?.pod.metadata.namespace, 'team-a');
  assert.equal(out.apiVersion, 'admission.k8s.io/v1');
  assert.equal(out.kind, 'AdmissionReview');
  assert.equal(out.response.uid, 'u-1');
  assert.equal(out.response.allowed, true);
  assert.equal(out.response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(out.response.patch ?? '', 'base64').toString()) as JsonPatchOp[];
  assert.deepEqual(applyPatch(podObject, patch), { ...podObject, spec: { ...podObject.spec, imagePullSecrets: [{ name: 'mine' }, { name: 'pull-a' }] } });
  assert.deepEqual(out.response.auditAnnotations, { outcome: 'mutated', reason: 'added pull-a' });
});

test('a dry run is answered exactly like the real request', () => {
  const dry = answerReview(review({ dryRun: true }), view);
  assert.equal(dry.request?.dryRun, true);
  assert.deepEqual(dry.review, answerReview(review(), view).review);
});

test('a pod not selected: allowed, no patch', () => {
  const { review: out, decision } = answerReview(review({ namespace: 'team-b' }), view);
  assert.equal(decision.outcome, 'not_selected');
  assert.deepEqual(out.response, { uid: 'u-1', allowed: true, auditAnnotations: { outcome: 'not_selected', reason: decision.reason } });
});

test('a pod created by a node is left alone', () => {
  assert.equal(answerReview(review({ userInfo: { username: 'system:node:n1' } }), view).decision.outcome, 'opted_out');
});

test('bad bodies, other kinds and operations: allowed, not mutated, with the reason; never a throw', () => {
  const spec = podObject.spec;
  const cases: [unknown, RegExp, string][] = [
    [null, /not an AdmissionReview of admission.k8s.io\/v1/, ''],
    ['text', /not an AdmissionReview/, ''],
    [[], /not an AdmissionReview/, ''],
    [{ ...review(), apiVersion: 'admission.k8s.io/v1beta1' }, /not an AdmissionReview/, 'u-1'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /no request with a uid/, ''],
    [review({ uid: 7 }), /no request with a uid/, ''],
    [review({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }), /request.kind \["apps","v1","Deployment"\] is not/, 'u-1'],
    [review({ kind: 'Pod' }), /request.kind/, 'u-1'],
    [review({ operation: 'UPDATE' }), /operation UPDATE is not handled: only CREATE/, 'u-1'],
    [review({ subResource: 'ephemeralcontainers' }), /subresource "ephemeralcontainers"/, 'u-1'],
    [review({ namespace: '' }), /request.namespace is missing/, 'u-1'],
    [review({ object: null }), /request.object is not an object/, 'u-1'],
    [review({ object: { metadata: [], spec } }), /metadata is not an object/, 'u-1'],
    [review({ object: { metadata: {} } }), /spec is not an object/, 'u-1'],
    [review({ object: { metadata: { labels: { a: 1 } }, spec } }), /labels is not a map of strings/, 'u-1'],
    [review({ object: { metadata: { annotations: 'x' }, spec } }), /annotations is not a map of strings/, 'u-1'],
    [review({ object: { metadata: {}, spec: { imagePullSecrets: {} } } }), /imagePullSecrets is not a list/, 'u-1'],
    [review({ object: { metadata: {}, spec: { imagePullSecrets: [null] } } }), /imagePullSecrets is not a list/, 'u-1'],
    [review({ object: { metadata: {}, spec: { imagePullSecrets: [{ name: 3 }] } } }), /imagePullSecrets is not a list/, 'u-1'],
  ];
  for (const [body, reason, uid] of cases) {
    const { review: out, decision } = answerReview(body, view);
    assert.equal(decision.outcome, 'error', JSON.stringify(body));
    assert.match(out.response.auditAnnotations.reason, reason);
    assert.match(out.response.auditAnnotations.reason, /^not mutated: /);
    assert.deepEqual(Object.keys(out.response).sort(), ['allowed', 'auditAnnotations', 'uid']);
    assert.equal(out.response.uid, uid);
    assert.equal(out.response.allowed, true);
  }
});

test('a pod with null lists and no metadata is decided; the namespace comes from the request', () => {
  const { decision } = answerReview(review({ object: { spec: { imagePullSecrets: null } } }), view);
  assert.equal(decision.outcome, 'mutated');
  assert.deepEqual(decision.patch, [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'pull-a' }] }]);
});

test('a view that throws gives "error", allowed, not mutated', () => {
  const broken: AdmissionView = { ...view, resources: () => { throw new Error('cache gone'); } };
  const { review: out, decision } = answerReview(review(), broken);
  assert.equal(decision.outcome, 'error');
  assert.equal(out.response.patch, undefined);
  assert.equal(out.response.auditAnnotations.reason, 'not mutated: cache gone');
});

test('a long reason is cut to 512 characters', () => {
  const many: AdmissionView = { ...view, namespace: () => undefined,
    resources: () => Array.from({ length: 60 }, (_, i) => resource(`resource-with-a-long-name-${String(i)}`, { namespaces: { labels: [{}] } })) };
  const { review: out, decision } = answerReview(review(), many);
  assert.equal(decision.outcome, 'error');
  assert.equal(out.response.auditAnnotations.reason.length, 512);
});
