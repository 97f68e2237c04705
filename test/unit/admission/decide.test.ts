import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decidePodAdmission, type PodAdmission } from '../../../src/admission/index.ts';
import { applyPatch, namespace, pod, resource } from './support.ts';

const OWN = 'pullsecret-sync';
const byName = resource('a', { namespaces: { names: ['team-a'] } });
const byLabel = resource('b', { namespaces: { labels: [{ matchLabels: { registry: 'yes' } }] } });
const byAnnotation = resource('c', { namespaces: { annotations: [{ matchAnnotations: { 'sidecar.istio.io/inject': 'true' } }] } });
const byPods = resource('d', { namespacesWithPods: { labels: [{ matchExpressions: [{ key: 'istio.io/rev', operator: 'Exists' }] }] } });
const all = [byName, byLabel, byAnnotation, byPods];

const decide = (a: Partial<PodAdmission> & Pick<PodAdmission, 'pod'>) =>
  decidePodAdmission({ namespace: namespace(a.pod.metadata.namespace), resources: all, ownNamespace: OWN, ...a });

test('by name: the entry is added, creating the list when the pod has none', () => {
  const p = pod('team-a');
  const d = decide({ pod: p });
  assert.equal(d.outcome, 'mutated');
  assert.deepEqual(d.add, ['pull-a']);
  assert.deepEqual(d.patch, [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'pull-a' }] }]);
  assert.deepEqual(applyPatch(p, d.patch ?? []).spec.imagePullSecrets, [{ name: 'pull-a' }]);
});

test('by namespace labels and annotations', () => {
  const d = decide({ pod: pod('x'), namespace: namespace('x', { registry: 'yes' }, { 'sidecar.istio.io/inject': 'true' }) });
  assert.deepEqual(d.add, ['pull-b', 'pull-c']);
});

test('by the pod rules only the pod being admitted counts', () => {
  assert.deepEqual(decide({ pod: pod('y', { labels: { 'istio.io/rev': '1-24' } }) }).add, ['pull-d']);
  assert.equal(decide({ pod: pod('y') }).outcome, 'not_selected');
});

test('present entries are kept in order, missing ones appended, none duplicated', () => {
  const p = pod('team-a', { pullSecrets: [{ name: 'z' }, {}, { name: 'b' }] });
  const d = decide({ pod: p, namespace: namespace('team-a', { registry: 'yes' }) });
  assert.deepEqual(d.add, ['pull-a', 'pull-b']);
  assert.deepEqual(applyPatch(p, d.patch ?? []).spec.imagePullSecrets, [{ name: 'z' }, {}, { name: 'b' }, { name: 'pull-a' }, { name: 'pull-b' }]);
  const again = decide({ pod: applyPatch(p, d.patch ?? []), namespace: namespace('team-a', { registry: 'yes' }) });
  assert.equal(again.outcome, 'already_present');
  assert.equal(again.patch, undefined);
});

test('an empty list is appended to', () => {
  const d = decide({ pod: pod('team-a', { pullSecrets: [] }) });
  assert.deepEqual(d.patch, [{ op: 'add', path: '/spec/imagePullSecrets/-', value: { name: 'pull-a' } }]);
});

test('two resources naming one Secret add it once; the names are sorted', () => {
  const twin = resource('a2', { namespaces: { names: ['team-a'] } });
  twin.spec.target.secret.name = 'pull-a';
  const early = resource('0', { namespaces: { names: ['team-a'] } });
  assert.deepEqual(decide({ pod: pod('team-a'), resources: [twin, byName, early] }).add, ['pull-0', 'pull-a']);
});

test('a problem outside the target (a source) does not stop the entry: it names the Secret the resource writes once fixed', () => {
  const badSource = resource('src', { namespaces: { names: ['team-a'] } });
  badSource.spec.registry.credentials = [{ name: 'hub', namespace: 'Not_A_Namespace' }];
  assert.deepEqual(decide({ pod: pod('team-a'), resources: [badSource] }).add, ['pull-src']);
});

test('no injection without inject: true, for an invalid target or a resource being deleted', () => {
  const off = resource('off', { namespaces: { names: ['team-a'] } }, false);
  const invalid = resource('bad', { namespaces: { names: ['team-a'], labels: [{ matchLabels: { k: 'not a label value' } }] } });
  const deleting = resource('gone', { namespaces: { names: ['team-a'] } });
  deleting.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  const noPods = resource('nopods', { namespaces: { names: ['team-a'] } });
  delete noPods.spec.target.pods;
  const d = decide({ pod: pod('team-a'), resources: [off, invalid, deleting, noPods] });
  assert.equal(d.outcome, 'not_selected');
  assert.deepEqual(d.add, []);
});

test('opted out: the label on the pod or on the namespace, value "false" only, own properties only', () => {
  const label = { 'pullsecret-sync.dev/inject': 'false' };
  assert.equal(decide({ pod: pod('team-a', { labels: label }) }).outcome, 'opted_out');
  assert.equal(decide({ pod: pod('team-a'), namespace: namespace('team-a', label) }).outcome, 'opted_out');
  assert.equal(decide({ pod: pod('team-a', { labels: { 'pullsecret-sync.dev/inject': 'true' } }) }).outcome, 'mutated');
  const inherited = Object.create(label) as Record<string, string>;
  assert.equal(decide({ pod: pod('team-a'), namespace: namespace('team-a', inherited) }).outcome, 'mutated');
});

test('never mutated: mirror pods, pods created by nodes, kube-system, the daemon\'s namespace', () => {
  const everywhere = resource('e', { namespaces: { labels: [{}] } });
  const cases: Partial<PodAdmission>[] = [
    { pod: pod('team-a', { annotations: { 'kubernetes.io/config.mirror': 'abc' } }) },
    { pod: pod('team-a'), requester: 'system:node:node-1' },
    { pod: pod('kube-system') },
    { pod: pod(OWN) },
  ];
  for (const c of cases) {
    const p = c.pod ?? pod('team-a');
    const d = decide({ ...c, pod: p, resources: [everywhere, byName] });
    assert.equal(d.outcome, 'opted_out', d.reason);
    assert.equal(d.patch, undefined);
  }
  assert.equal(decide({ pod: pod('team-a'), requester: 'system:serviceaccount:kube-system:replicaset-controller' }).outcome, 'mutated');
});

test('a namespace not in the cache yet: name and pod rules still decide; label rules make it an error, never a guess', () => {
  const notIn = resource('n', { namespaces: { labels: [{ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }] } });
  const named = decide({ pod: pod('team-a'), namespace: undefined, resources: [byName, notIn] });
  assert.equal(named.outcome, 'mutated');
  assert.deepEqual(named.add, ['pull-a']);
  assert.match(named.reason, /label and annotation rules of n were not evaluated/);
  const unknown = decide({ pod: pod('other'), namespace: undefined, resources: [byName, notIn] });
  assert.equal(unknown.outcome, 'error');
  assert.equal(unknown.patch, undefined);
  assert.equal(decide({ pod: pod('other'), namespace: undefined, resources: [byName] }).outcome, 'not_selected');
});
