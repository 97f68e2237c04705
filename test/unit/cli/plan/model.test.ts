import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret, ImagePullSecretSpec } from '../../../../src/api/v1alpha1/types.ts';
import { desiredSecret, payloadOf } from '../../../../src/controller/decide/desired-secret.ts';
import { mergeContributions, parseSourceSecret, serialize } from '../../../../src/dockerconfig/index.ts';
import type { Secret } from '../../../../src/kube/objects.ts';
import { computePlan } from '../../../../src/cli/plan/model.ts';
import { render } from '../../../../src/cli/plan/output.ts';
import { buildWorld, emptyParts, type WorldParts } from '../../../../src/cli/plan/world.ts';

const source: Secret = { metadata: { name: 'hub', namespace: 'ra' }, type: 'kubernetes.io/dockerconfigjson',
  data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { 'r.io': { auth: Buffer.from('u:p').toString('base64') } } })).toString('base64') } };

function ips(name: string, spec: Partial<ImagePullSecretSpec>, created = '2026-01-01T00:00:00Z'): ImagePullSecret {
  return { apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name, uid: `uid-${name}`, creationTimestamp: created },
    spec: { registry: { credentials: [{ name: 'hub', namespace: 'ra' }] }, target: { secret: { name: 'pull' }, namespaces: { names: ['a'] } }, ...spec } };
}

function world(over: Partial<WorldParts>): WorldParts {
  return { ...emptyParts(), namespaces: [{ metadata: { name: 'a' } }, { metadata: { name: 'ra' } }], secrets: [source], ...over };
}

/** The Secret the daemon writes for `r` in `namespace`, built with the daemon's own functions. */
function written(r: ImagePullSecret, namespace: string): Secret {
  const bytes = serialize(mergeContributions([{ source: 's', entries: parseSourceSecret(source.type ?? '', source.data ?? {}).entries }]).config);
  return desiredSecret(r, namespace, payloadOf(bytes));
}

test('create, unchanged, update and unmanaged conflict follow what is in the namespace', () => {
  const r = ips('r', {});
  const action = (secrets: Secret[]) => computePlan(buildWorld(world({ resources: [r], secrets: [source, ...secrets] }))).resources[0]?.namespaces[0];
  assert.deepEqual(action([]), { name: 'a', rules: ['name'], action: 'create' });
  assert.equal(action([written(r, 'a')])?.action, 'unchanged');
  const edited = written(r, 'a');
  edited.data = { '.dockerconfigjson': Buffer.from('{}').toString('base64') };
  assert.equal(action([edited])?.action, 'update');
  assert.deepEqual(action([{ metadata: { name: 'pull', namespace: 'a' }, type: 'Opaque' }]), { name: 'a', rules: ['name'], action: 'conflict', conflictWith: 'unmanaged' });
});

test('the older resource owns a contested name; every selecting rule is listed', () => {
  const target = { secret: { name: 'pull' }, namespaces: { names: ['a'], labels: [{}] } };
  const plan = computePlan(buildWorld(world({ resources: [ips('young', { target }, '2026-02-01T00:00:00Z'), ips('old', {})] })));
  const young = plan.resources.find((r) => r.name === 'young');
  assert.deepEqual(young?.namespaces.find((n) => n.name === 'a'), { name: 'a', rules: ['name', 'labels'], action: 'conflict', conflictWith: 'ImagePullSecret/old' });
  assert.deepEqual(plan.resources.find((r) => r.name === 'old')?.namespaces, [{ name: 'a', rules: ['name'], action: 'create' }]);
});

test('cloud sources are listed by registry without tokens, shadowing in spec order', () => {
  const r = ips('r', { registry: { credentials: [{ name: 'hub', namespace: 'ra' }], ecr: [{ region: 'eu-west-1' }], gcp: [{ registries: ['r.io', 'gcr.io'] }] } });
  const plan = computePlan(buildWorld(world({ resources: [r] }))).resources[0];
  assert.deepEqual(plan?.registries, [
    { registry: '<account>.dkr.ecr.eu-west-1.amazonaws.com', source: 'ECR eu-west-1', shadowed: [] },
    { registry: 'gcr.io', source: 'GCP r.io,gcr.io', shadowed: [] },
    { registry: 'r.io', source: 'Secret ra/hub', shadowed: ['GCP r.io,gcr.io'] },
  ]);
  assert.equal(plan.namespaces[0]?.action, 'create');
});

test('removals: deselected namespaces lose ours and its ServiceAccount entry; a failing source removes nothing', () => {
  const r = ips('r', { target: { secret: { name: 'pull' }, namespaces: { names: ['a'] }, serviceAccounts: { names: ['default'] } } });
  const stale = { ...written(r, 'gone'), metadata: { ...written(r, 'gone').metadata } };
  const sa = { metadata: { name: 'default', namespace: 'gone', annotations: { 'pullsecret-sync.dev/added-pull-secrets': 'pull' } }, imagePullSecrets: [{ name: 'pull' }] };
  const saA = { metadata: { name: 'default', namespace: 'a' } };
  const parts = world({ resources: [r], secrets: [source, stale], serviceAccounts: [sa, saA], namespaces: [{ metadata: { name: 'a' } }, { metadata: { name: 'gone' } }] });
  const plan = computePlan(buildWorld(parts)).resources[0];
  assert.deepEqual(plan?.removals, [{ namespace: 'gone', secret: 'pull' }]);
  assert.deepEqual(plan.serviceAccounts, [{ namespace: 'a', name: 'default', change: 'add' }, { namespace: 'gone', name: 'default', change: 'remove' }]);
  const failing = computePlan(buildWorld({ ...parts, secrets: [stale] })).resources[0];
  assert.deepEqual([failing?.removals, failing?.namespaces, failing?.sourceProblems], [[], [], ['Secret ra/hub: Secret not found']]);
});

test('an invalid resource is reported with its errors and plans nothing', () => {
  const r = ips('r', { target: { secret: { name: 'Pull' }, namespaces: { names: ['a'] } } });
  const plan = computePlan(buildWorld(world({ resources: [r] }))).resources[0];
  assert.deepEqual([plan?.valid, plan?.errors, plan?.namespaces], [false, ['spec.target.secret.name: "Pull" is not a valid Secret name'], []]);
});

test("IMPS's Secret for the resource of the same name is an update with --adopt-imps-secrets, a conflict without", () => {
  const r = ips('r', {});
  const imps: Secret = { metadata: { name: 'pull', namespace: 'a', labels: { 'images.banzaicloud.io/owner-uid': 'imps-uid' },
    ownerReferences: [{ apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret', name: 'r', uid: 'imps-uid' }] },
    type: 'kubernetes.io/dockerconfigjson' };
  const action = (secret: Secret, adoptImpsSecrets: boolean) =>
    computePlan(buildWorld(world({ resources: [r], secrets: [source, secret] })), undefined, { adoptImpsSecrets }).resources[0]?.namespaces[0]?.action;
  assert.equal(action(imps, false), 'conflict');
  assert.equal(action(imps, true), 'update');
  assert.equal(action({ ...imps, metadata: { ...imps.metadata, ownerReferences: [] } }, true), 'conflict');
  assert.equal(action({ ...imps, type: 'Opaque' }, true), 'conflict', 'a Secret type cannot change');
});

test('injection: the existing pods that lack the entry, decided by the admission rule; none without inject', () => {
  const pod = (namespace: string, name: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
    ({ metadata: { name, namespace, ...meta }, spec: extra as { imagePullSecrets?: { name: string }[] } });
  const pods = [
    pod('a', 'lacks'), pod('a', 'has', { imagePullSecrets: [{ name: 'other' }, { name: 'pull' }] }),
    pod('a', 'opted-out', {}, { labels: { 'pullsecret-sync.dev/inject': 'false' } }),
    pod('a', 'leaving', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' }), pod('a', 'also-lacks', { imagePullSecrets: [{ name: 'other' }] }),
    pod('b', 'not-selected'), pod('b', 'sidecar', {}, { labels: { 'istio.io/rev': '1' } }),
    pod('pullsecret-sync', 'daemon'), { metadata: { name: 'snapshot-without-spec', namespace: 'a' } },
  ];
  const namespaces = [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }, { metadata: { name: 'ra' } }, { metadata: { name: 'pullsecret-sync' } }];
  const target = { secret: { name: 'pull' }, namespaces: { names: ['a', 'pullsecret-sync'] },
    namespacesWithPods: { labels: [{ matchExpressions: [{ key: 'istio.io/rev', operator: 'Exists' as const }] }] } };
  const plan = (inject: boolean) => computePlan(buildWorld(world({ namespaces, pods, resources: [ips('r', { target: { ...target, pods: { inject } } })] }))).resources[0];
  assert.deepEqual(plan(true)?.pods, [
    { namespace: 'a', name: 'also-lacks' }, { namespace: 'a', name: 'lacks' }, { namespace: 'a', name: 'snapshot-without-spec' }, { namespace: 'b', name: 'sidecar' },
  ]);
  assert.deepEqual(plan(false)?.pods, []);
  const badSource = ips('r', { registry: { credentials: [{ name: 'hub', namespace: 'Not_A_Namespace' }] }, target: { ...target, pods: { inject: true } } });
  const invalid = computePlan(buildWorld(world({ namespaces, pods, resources: [badSource] }))).resources[0];
  assert.equal(invalid?.valid, false);
  assert.equal(invalid.pods.length, 4, 'a bad source does not stop injection');
  const elsewhere = computePlan(buildWorld(world({ namespaces, pods, resources: [ips('r', { target: { ...target, pods: { inject: true } } })] })), undefined, { daemonNamespace: 'b' });
  assert.deepEqual(elsewhere.resources[0]?.pods.map((p) => `${p.namespace}/${p.name}`), ['a/also-lacks', 'a/lacks', 'a/snapshot-without-spec', 'pullsecret-sync/daemon']);
  const table = render(computePlan(buildWorld(world({ namespaces, pods: Array.from({ length: 25 }, (_, i) => pod('a', `p${String(i).padStart(2, '0')}`)),
    resources: [ips('r', { target: { ...target, pods: { inject: true } } })] }))), 'table');
  assert.match(table, /pods lacking the entry \(admission adds it when they are created again\):\n {4}a\/p00\n/);
  assert.match(table, / {4}a\/p19\n {4}… and 5 more \(-o json lists them all\)\n/);
});
