import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret, Target } from '../../../../src/api/v1alpha1/types.ts';
import { pick, watchNeeds } from '../../../../src/controller/watch/watch-needs.ts';

const ips = (target: Partial<Target>) => ({ metadata: { name: 'x' }, spec: { registry: {}, target: { secret: { name: 'pull' }, ...target } } }) as ImagePullSecret;

test('pods are needed only while a resource selects by pods, with exactly the keys its selectors name', () => {
  assert.deepEqual(watchNeeds([ips({ namespaces: { names: ['a'] } })]), { serviceAccounts: false });
  const needs = watchNeeds([
    ips({ namespacesWithPods: { labels: [{ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'istio.io/rev', operator: 'Exists' }] }] } }),
    ips({ namespacesWithPods: { annotations: [{ matchAnnotations: { 'sidecar.istio.io/inject': 'true' } }] }, serviceAccounts: { names: ['default'] } }),
  ]);
  assert.deepEqual([needs.pods?.labels, needs.pods?.annotations], [['app', 'istio.io/rev'], ['sidecar.istio.io/inject']]);
  assert.equal(needs.serviceAccounts, true);
});

test('an empty pod selector needs the pod watch but no keys', () => {
  assert.deepEqual(watchNeeds([ips({ namespacesWithPods: { labels: [{}] } })]).pods?.labels, []);
});

test('the key set identifies the projection: same selectors, same key', () => {
  const a = watchNeeds([ips({ namespacesWithPods: { labels: [{ matchLabels: { b: '1', a: '2' } }] } })]).pods?.key;
  const b = watchNeeds([ips({ namespacesWithPods: { labels: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }] }] } })]).pods?.key;
  assert.equal(a, b);
});

test('pick keeps only the named keys, as own properties', () => {
  const map = JSON.parse('{"app":"web","hash":"abc","__proto__":"x"}') as Record<string, string>;
  assert.deepEqual({ ...pick(map, ['app', 'missing', 'toString']) }, { app: 'web' });
  assert.equal(pick(map, ['missing']), undefined);
  assert.equal(pick(undefined, ['app']), undefined);
});

test('ServiceAccounts are watched while a resource lets ServiceAccounts call the builder front (revocation needs the deletions)', () => {
  const builder = { ...ips({ namespaces: { names: ['a'] } }) };
  builder.spec = { ...builder.spec, builder: { serviceAccounts: [{ namespace: 'ci', name: 'kaniko' }] } };
  assert.deepEqual(watchNeeds([builder]), { serviceAccounts: true });
  const none = { ...ips({ namespaces: { names: ['a'] } }) };
  none.spec = { ...none.spec, builder: { serviceAccounts: [] } };
  assert.deepEqual(watchNeeds([none]), { serviceAccounts: false });
});
