// The injection policy compiled from a resource: its objects, and its CEL evaluated locally (cel-js) the
// way the API server evaluates it, against the admission rule (decide.ts, itself checked against the
// daemon's own selection) for random resources, namespaces and pods.
// test/integration/injection-policy.test.ts runs the same policies in the real API server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ImagePullSecret, Target } from '../../../src/api/v1alpha1/types.ts';
import { celString, patchCel } from '../../../src/admission/policy-cel.ts';
import { desiredInjection, injectionPolicyName, isUpToDate, policyProblem, sameJson } from '../../../src/admission/policy.ts';
import { decidePodAdmission } from '../../../src/admission/index.ts';
import { bindsNamespace } from './support.ts';
import { Environment } from '@marcbachmann/cel-js';
import { admitThrough, type PolicyInput } from '../../support/policy-eval.ts';

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
  const { policy, bindings } = objects;
  assert.equal(policy.metadata.name, injectionPolicyName('r'));
  assert.deepEqual(bindings.map((b) => [b.metadata.name, b.spec.policyName]), [[policy.metadata.name, policy.metadata.name]]);
  for (const o of [policy, ...bindings]) {
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

test('a selection too large for one API server expression is a problem that says how to fix it', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `namespace-${String(i)}`);
  assert.equal(policyProblem(policyOf(resource({ namespaces: { names: names(1000) } }))), undefined);
  assert.match(policyProblem(policyOf(resource({ namespaces: { names: names(6000) } }))) ?? '',
    /^the namespace and pod rules compile to \d+ characters of CEL, over the 100000 the API server accepts .*select by labels instead of long name lists, or split the resource/);
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
const KEYS = ['env', 'team', 'example.com/tier', 'constructor', '__proto__'];
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
const SECRETS = ['s1', 's2'];
const target = fc.record({
  namespaces: fc.record({ names: fc.uniqueArray(fc.constantFrom(...NAMESPACES), { maxLength: 2 }),
    labels: fc.array(labelSelector, { maxLength: 2 }), annotations: fc.array(annotationSelector, { maxLength: 2 }) }, { requiredKeys: [] }),
  namespacesWithPods: fc.record({ labels: fc.array(labelSelector, { maxLength: 2 }), annotations: fc.array(annotationSelector, { maxLength: 2 }) }, { requiredKeys: [] }),
}, { requiredKeys: [] });
const resources = fc.array(fc.record({ target, secret: fc.constantFrom(...SECRETS), inject: fc.nat(5).map((n) => n > 0),
  invalid: fc.nat(6).map((n) => n === 0), deleting: fc.nat(8).map((n) => n === 0) }), { minLength: 1, maxLength: 3 })
  .map((list) => list.map((r, i) => {
    const ips = resource(r.invalid ? { ...r.target, namespaces: { names: ['Not_Valid'] } } : r.target, r.secret, r.inject);
    ips.metadata.name = `r${String(i)}`;
    if (r.deleting) ips.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
    return ips;
  }));
const withOptOut = (values: string[]) => fc.tuple(map(values), fc.option(fc.constantFrom('false', 'true'), { nil: undefined }))
  .map(([m, optOut]) => (optOut === undefined ? m : { ...m, 'pullsecret-sync.dev/inject': optOut }));
const world = fc.record({
  resources,
  namespace: fc.record({ name: fc.constantFrom(...NAMESPACES), labels: withOptOut(LABEL_VALUES), annotations: map(VALUES) }),
  pod: fc.record({ labels: withOptOut(LABEL_VALUES), annotations: fc.oneof({ weight: 9, arbitrary: map(VALUES) },
    { weight: 1, arbitrary: fc.constant({ 'kubernetes.io/config.mirror': 'static' }) }),
  pullSecrets: fc.option(fc.array(fc.constantFrom('s1', 'other'), { maxLength: 2 }), { nil: undefined }) }),
  requester: fc.constantFrom('alice', 'system:serviceaccount:kube-system:replicaset-controller', 'system:node:n1'),
});

test('property: the compiled policies, run where their bindings select the namespace, add exactly what the admission rule adds, for random resources, namespaces and pods', () => {
  fc.assert(fc.property(world, (w) => {
    const original = w.pod.pullSecrets?.map((name) => ({ name }));
    const nsLabels = { ...w.namespace.labels, 'kubernetes.io/metadata.name': w.namespace.name };
    const rule = decidePodAdmission({
      pod: { metadata: { namespace: w.namespace.name, labels: w.pod.labels, annotations: w.pod.annotations }, spec: original ? { imagePullSecrets: original } : {} },
      namespace: { metadata: { name: w.namespace.name, labels: nsLabels, annotations: w.namespace.annotations } },
      resources: w.resources, ownNamespace: OWN, requester: w.requester,
    });
    // Every resource's policy in turn (the API server runs them one after another), each seeing the pod as
    // the ones before left it; a policy none of whose bindings selects the namespace is not run.
    let list: { name?: string }[] | undefined = original;
    for (const ips of w.resources) {
      const objects = desiredInjection(ips, OWN);
      if (!objects?.bindings.some((b) => bindsNamespace(b, nsLabels))) continue;
      const { policy } = objects;
      list = admitThrough(policy, ips.spec.target.secret.name, { namespace: { name: w.namespace.name, labels: w.namespace.labels,
        annotations: w.namespace.annotations }, pod: { labels: w.pod.labels, annotations: w.pod.annotations, ...(list ? { imagePullSecrets: list } : {}) },
      username: w.requester }) ?? list;
    }
    const before = original ?? [];
    const after = list ?? [];
    assert.deepEqual(after.slice(0, before.length), before, 'the entries the pod had stay first, in order');
    assert.deepEqual(after.slice(before.length).map((e) => e.name).sort(), rule.add, `rule: ${rule.reason}`);
    assert.equal(list === original, rule.outcome !== 'mutated', 'unchanged exactly when the rule does not mutate');
  }), { numRuns: 1500 });
});
