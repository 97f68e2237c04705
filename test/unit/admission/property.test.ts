// Property tests of the admission rule: the patch gives exactly the expected list, applying the rule twice
// adds nothing, other entries keep their order, and the resources that inject are exactly those the
// daemon's own selection (SelectionCache, with the admitted pod as the namespace's pod) says select it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decidePodAdmission, type AdmittedPod, type NamespaceView } from '../../../src/admission/index.ts';
import type { ImagePullSecret, LabelSelector, SelectorRequirement } from '../../../src/api/v1alpha1/types.ts';
import { SelectionCache } from '../../../src/controller/decide/selection-cache.ts';
import type { Caches } from '../../../src/controller/watch/caches.ts';
import type { MetadataObject } from '../../../src/kube/objects.ts';
import { dataMap } from '../../../src/util/own.ts';
import { applyPatch, resource } from './support.ts';

const key = fc.constantFrom('a', 'b', 'team', 'constructor', '__proto__');
const value = fc.constantFrom('x', 'y', '');
const map = fc.dictionary(key, value, { maxKeys: 3 });
const requirement: fc.Arbitrary<SelectorRequirement> = fc.oneof(
  fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) }),
  fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const selector: fc.Arbitrary<LabelSelector> = fc.record({ matchLabels: map, matchExpressions: fc.array(requirement, { maxLength: 2 }) }, { requiredKeys: [] });
const selectors = fc.array(selector, { maxLength: 2 });
const annotationSelectors = selectors.map((list) => list.map((s) => ({ matchAnnotations: s.matchLabels, matchExpressions: s.matchExpressions })));
const NAMESPACES = ['team-a', 'team-b', 'team-c'];
const SECRETS = ['s1', 's2', 's3'];

const resources: fc.Arbitrary<ImagePullSecret[]> = fc.array(fc.record({
  names: fc.subarray(NAMESPACES), labels: selectors, annotations: annotationSelectors,
  podLabels: selectors, podAnnotations: annotationSelectors, inject: fc.boolean(), secret: fc.constantFrom(...SECRETS),
  invalid: fc.nat(4).map((n) => n === 0),
}), { maxLength: 4 }).map((list) => list.map((r, i) => {
  const ips = resource(`r${String(i)}`, {
    namespaces: { names: r.names, labels: r.invalid ? [{ matchLabels: { k: 'not valid' } }] : r.labels, annotations: r.annotations },
    namespacesWithPods: { labels: r.podLabels, annotations: r.podAnnotations },
  }, r.inject);
  ips.spec.target.secret.name = r.secret;
  return ips;
}));

const entry = fc.oneof(fc.constantFrom(...SECRETS, 'other').map((name) => ({ name })), fc.constant({}));
const world = fc.record({
  resources,
  namespace: fc.record({ name: fc.constantFrom(...NAMESPACES), labels: map, annotations: map }),
  pod: fc.record({ labels: map, annotations: map, pullSecrets: fc.option(fc.array(entry, { maxLength: 4 }), { nil: undefined }) }),
});
type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

/** JSON decoding builds every key, `__proto__` included, as an own property: so does this. */
const own = (m: Record<string, string>): Record<string, string> => dataMap(Object.entries(m));

function inputs(w: World): { pod: AdmittedPod; namespace: NamespaceView } {
  const pod: AdmittedPod = { metadata: { namespace: w.namespace.name, labels: own(w.pod.labels), annotations: own(w.pod.annotations) },
    spec: w.pod.pullSecrets === undefined ? {} : { imagePullSecrets: w.pod.pullSecrets } };
  return { pod, namespace: { metadata: { name: w.namespace.name, labels: own(w.namespace.labels), annotations: own(w.namespace.annotations) } } };
}

/** The Secret names the daemon's own selection gives, with `pod` the only pod of the namespace. */
function daemonSelection(w: World, pod: AdmittedPod, namespace: NamespaceView): Set<string> {
  const podObject: MetadataObject = { metadata: { name: 'p', namespace: namespace.metadata.name, labels: pod.metadata.labels, annotations: pod.metadata.annotations } };
  const caches = { pods: { store: { byIndex: () => [podObject] }, running: true, hasSynced: () => true } } as unknown as Caches;
  const selection = new SelectionCache(caches);
  return new Set(w.resources.filter((r) => r.spec.target.pods?.inject === true && selection.selects(r, namespace) === true)
    .map((r) => r.spec.target.secret.name));
}

const names = (list: AdmittedPod['spec']['imagePullSecrets']) => (list ?? []).map((e) => e.name);

test('the patch appends exactly the selected names the pod lacks, sorted; other entries keep their order', () => {
  fc.assert(fc.property(world, (w) => {
    const { pod, namespace } = inputs(w);
    const d = decidePodAdmission({ pod, namespace, resources: w.resources, ownNamespace: 'pullsecret-sync' });
    const selected = daemonSelection(w, pod, namespace);
    const before = names(pod.spec.imagePullSecrets);
    const expected = [...selected].filter((n) => !before.includes(n)).sort();
    assert.deepEqual(d.add, expected);
    const after = applyPatch(pod, d.patch ?? []).spec.imagePullSecrets;
    assert.deepEqual(after ?? [], [...(pod.spec.imagePullSecrets ?? []), ...expected.map((name) => ({ name }))]);
    const outcome = expected.length ? 'mutated' : selected.size ? 'already_present' : 'not_selected';
    assert.equal(d.outcome, outcome);
    assert.equal(d.patch === undefined, expected.length === 0);
  }), { numRuns: 1000 });
});

test('idempotent: deciding again on the patched pod adds nothing', () => {
  fc.assert(fc.property(world, (w) => {
    const { pod, namespace } = inputs(w);
    const first = decidePodAdmission({ pod, namespace, resources: w.resources, ownNamespace: 'pullsecret-sync' });
    const patched = applyPatch(pod, first.patch ?? []);
    const second = decidePodAdmission({ pod: patched, namespace, resources: w.resources, ownNamespace: 'pullsecret-sync' });
    assert.deepEqual(second.add, []);
    assert.equal(second.patch, undefined);
    assert.notEqual(second.outcome, 'mutated');
    if (first.outcome === 'mutated') assert.equal(second.outcome, 'already_present');
  }), { numRuns: 300 });
});

test('the opt-out label on the pod or the namespace, and the daemon\'s own namespace, are never mutated', () => {
  fc.assert(fc.property(world, fc.constantFrom('pod', 'namespace', 'own'), (w, where) => {
    const { pod, namespace } = inputs(w);
    const label = { 'pullsecret-sync.dev/inject': 'false' };
    if (where === 'pod') pod.metadata.labels = { ...pod.metadata.labels, ...label };
    if (where === 'namespace') namespace.metadata.labels = { ...namespace.metadata.labels, ...label };
    const d = decidePodAdmission({ pod, namespace, resources: w.resources, ownNamespace: where === 'own' ? namespace.metadata.name : 'pullsecret-sync' });
    assert.equal(d.outcome, 'opted_out');
    assert.equal(d.patch, undefined);
  }), { numRuns: 200 });
});

// (A namespace's opt-out label cannot be read from a namespace the cache lacks: the webhook configuration's
// namespaceSelector excludes such namespaces in the API server, before any request; `world` sets no such label.)
test('a namespace not in the cache never adds what knowing it would not: the entries are a subset, and an unsure answer is an error', () => {
  fc.assert(fc.property(world, (w) => {
    const { pod, namespace } = inputs(w);
    const known = decidePodAdmission({ pod, namespace, resources: w.resources, ownNamespace: 'pullsecret-sync' });
    const unknown = decidePodAdmission({ pod, namespace: undefined, resources: w.resources, ownNamespace: 'pullsecret-sync' });
    assert.ok(unknown.add.every((name) => known.add.includes(name)), `${unknown.add.join()} within ${known.add.join()}`);
    if (unknown.outcome === 'not_selected' || unknown.outcome === 'already_present') assert.deepEqual(known.add, []);
  }), { numRuns: 500 });
});
