// The injection policy compiled from a resource: its objects, and its CEL evaluated locally (cel-js) the
// way the API server evaluates it, against the daemon's own selection for random resources, namespaces
// and pods. test/integration/injection-policy.test.ts runs the same policies in the real API server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ImagePullSecret, Target } from '../../../../src/api/v1alpha1/types.ts';
import { celString, patchCel } from '../../../../src/controller/decide/injection-cel.ts';
import { desiredInjection, injectionPolicyName, isUpToDate, sameJson } from '../../../../src/controller/decide/injection-policy.ts';
import { compileTarget, selectNamespace } from '../../../../src/controller/decide/selection.ts';
import { Environment } from '@marcbachmann/cel-js';
import { admitThrough, type PolicyInput } from '../../../support/policy-eval.ts';

const OWN = 'pullsecret-sync';

function resource(target: Omit<Target, 'secret' | 'pods'>, secret = 'pull', inject = true): ImagePullSecret {
  return { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'r', uid: 'u-1', generation: 1 },
    spec: { registry: { credentials: [{ name: 's', namespace: 'src' }] }, target: { ...target, secret: { name: secret }, pods: { inject } } } };
}

function policyOf(ips: ImagePullSecret) {
  const objects = desiredInjection(ips, OWN);
  if (!objects) throw new Error('no policy');
  return objects.policy;
}

test('CEL string literals hold any string exactly', () => {
  const env = new Environment();
  for (const s of ['', 'plain', 'a"b', 'back\\slash', 'new\nline\ttab\r', '\u0000\u001f\u007f', 'ünïcödé 𝄞', '${x}', "it's"]) {
    assert.equal(env.evaluate(celString(s)), s, JSON.stringify(s));
  }
});

test('the objects: named after the resource, labelled, owned by it, failurePolicy Ignore, pods on CREATE only', () => {
  const objects = desiredInjection(resource({ namespaces: { names: ['a'] } }), OWN);
  assert.ok(objects);
  const { policy, binding } = objects;
  assert.equal(policy.metadata.name, injectionPolicyName('r'));
  assert.equal(binding.spec.policyName, policy.metadata.name);
  for (const o of [policy, binding]) {
    assert.deepEqual(o.metadata.labels, { 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': 'r' });
    assert.deepEqual(o.metadata.ownerReferences, [{ apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', name: 'r', uid: 'u-1' }]);
  }
  assert.equal(policy.spec.failurePolicy, 'Ignore');
  assert.deepEqual(policy.spec.matchConstraints.resourceRules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: '*' }]);
  assert.deepEqual(policy.spec.mutations, [{ patchType: 'JSONPatch', jsonPatch: { expression: patchCel('pull', 'kubernetes') } }]);
});

test('no policy without inject: true, for an invalid target, or for a resource being deleted', () => {
  assert.equal(desiredInjection(resource({ namespaces: { names: ['a'] } }, 'pull', false), OWN), undefined);
  assert.equal(desiredInjection(resource({ namespaces: { names: ['Not_Valid'] } }), OWN), undefined);
  const deleting = resource({ namespaces: { names: ['a'] } });
  deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  assert.equal(desiredInjection(deleting, OWN), undefined);
});

test('the patch appends only when missing, creates an absent list, keeps order and other entries', () => {
  const policy = policyOf(resource({ namespaces: { names: ['a'] } }));
  const at = (imagePullSecrets?: { name?: string }[]): PolicyInput => ({ namespace: { name: 'a' }, pod: imagePullSecrets ? { imagePullSecrets } : {} });
  assert.deepEqual(admitThrough(policy, 'pull', at()), [{ name: 'pull' }]);
  assert.deepEqual(admitThrough(policy, 'pull', at([])), [{ name: 'pull' }]);
  assert.deepEqual(admitThrough(policy, 'pull', at([{ name: 'x' }, {}, { name: 'y' }])), [{ name: 'x' }, {}, { name: 'y' }, { name: 'pull' }]);
  assert.equal(admitThrough(policy, 'pull', at([{ name: 'x' }, { name: 'pull' }])), undefined);
});

test('exclusions: kube-system, the daemon\'s namespace, opted-out namespaces and pods, mirror pods, nodes', () => {
  const policy = policyOf(resource({ namespaces: { labels: [{}] } }));
  const admitted = (input: PolicyInput) => admitThrough(policy, 'pull', input) !== undefined;
  assert.equal(admitted({ namespace: { name: 'team' }, pod: {} }), true);
  assert.equal(admitted({ namespace: { name: 'kube-system' }, pod: {} }), false);
  assert.equal(admitted({ namespace: { name: OWN }, pod: {} }), false);
  assert.equal(admitted({ namespace: { name: 'team', labels: { 'pullsecret-sync.dev/inject': 'false' } }, pod: {} }), false);
  assert.equal(admitted({ namespace: { name: 'team', labels: { 'pullsecret-sync.dev/inject': 'true' } }, pod: {} }), true);
  assert.equal(admitted({ namespace: { name: 'team' }, pod: { labels: { 'pullsecret-sync.dev/inject': 'false' } } }), false);
  assert.equal(admitted({ namespace: { name: 'team' }, pod: { annotations: { 'kubernetes.io/config.mirror': 'abc' } } }), false);
  assert.equal(admitted({ namespace: { name: 'team' }, pod: {}, username: 'system:node:n1' }), false);
});

test('a live object is up to date only with the same spec, our labels and our ownerReference', () => {
  const { policy } = desiredInjection(resource({ namespaces: { names: ['a'] } }), OWN) ?? assert.fail();
  const live = JSON.parse(JSON.stringify(policy)) as typeof policy;
  live.metadata.labels = { ...live.metadata.labels, extra: 'kept' };
  assert.equal(isUpToDate(policy, live), true);
  assert.equal(isUpToDate(policy, { ...live, spec: { ...live.spec, failurePolicy: 'Fail' } }), false);
  assert.equal(isUpToDate(policy, { ...live, metadata: { ...live.metadata, ownerReferences: [] } }), false);
  assert.equal(isUpToDate(policy, { ...live, metadata: { ...live.metadata, labels: {} } }), false);
  assert.equal(sameJson({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
  assert.equal(sameJson({ a: [1] }, { a: [1, 2] }), false);
});

// Keys and values from small pools, so that random selectors and random objects meet often.
const KEYS = ['env', 'team', 'example.com/tier', 'constructor'];
const VALUES = ['a', 'b', 'x y'];
const LABEL_VALUES = ['a', 'b', ''];
const map = (values: string[]) => fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...values), { maxKeys: 3 })
  .map((m) => JSON.parse(JSON.stringify(m)) as Record<string, string>);
const requirement = (values: string[]) => fc.oneof(
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('In' as const, 'NotIn' as const),
    values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const labelSelector = fc.record({ matchLabels: map(['a', 'b']), matchExpressions: fc.array(requirement(['a', 'b']), { maxLength: 2 }) }, { requiredKeys: [] });
const annotationSelector = fc.record({ matchAnnotations: map(VALUES), matchExpressions: fc.array(requirement(VALUES), { maxLength: 2 }) }, { requiredKeys: [] });
const NAMESPACES = ['a', 'b', 'kube-system', OWN];
const target = fc.record({
  namespaces: fc.record({ names: fc.uniqueArray(fc.constantFrom(...NAMESPACES), { maxLength: 2 }),
    labels: fc.array(labelSelector, { maxLength: 2 }), annotations: fc.array(annotationSelector, { maxLength: 2 }) }, { requiredKeys: [] }),
  namespacesWithPods: fc.record({ labels: fc.array(labelSelector, { maxLength: 2 }), annotations: fc.array(annotationSelector, { maxLength: 2 }) }, { requiredKeys: [] }),
}, { requiredKeys: [] });
const optOut = fc.option(fc.constantFrom('false', 'true'), { nil: undefined });

test('property: the compiled CEL mutates exactly the pods the daemon\'s selection puts in a selected namespace', () => {
  fc.assert(fc.property(target, fc.constantFrom(...NAMESPACES), map(LABEL_VALUES), map(VALUES), map(LABEL_VALUES), map(VALUES), optOut, optOut,
    fc.option(fc.array(fc.constantFrom('pull', 'other'), { maxLength: 2 }), { nil: undefined }),
    (t, nsName, nsLabels, nsAnnotations, podLabels, podAnnotations, nsOptOut, podOptOut, existing) => {
      const ips = resource(t);
      const compiled = compileTarget(ips.spec.target);
      if (!compiled.ok) return;
      const nsL = nsOptOut === undefined ? nsLabels : { ...nsLabels, 'pullsecret-sync.dev/inject': nsOptOut };
      const podL = podOptOut === undefined ? podLabels : { ...podLabels, 'pullsecret-sync.dev/inject': podOptOut };
      const imagePullSecrets = existing?.map((name) => ({ name }));
      const got = admitThrough(policyOf(ips), 'pull', { namespace: { name: nsName, labels: nsL, annotations: nsAnnotations },
        pod: { labels: podL, annotations: podAnnotations, ...(imagePullSecrets ? { imagePullSecrets } : {}) } });
      const selected = selectNamespace(compiled.value, { name: nsName, labels: { ...nsL, 'kubernetes.io/metadata.name': nsName }, annotations: nsAnnotations },
        [{ name: 'p', labels: podL, annotations: podAnnotations }]).selected;
      const excluded = nsName === 'kube-system' || nsName === OWN || nsOptOut === 'false' || podOptOut === 'false';
      const present = existing?.includes('pull') ?? false;
      const want = selected && !excluded && !present ? [...(imagePullSecrets ?? []), { name: 'pull' }] : undefined;
      assert.deepEqual(got, want);
    }), { numRuns: 1500 });
});
