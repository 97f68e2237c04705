// The policy engine against the real API server: the daemon (chart RBAC, --admission-engine=policy)
// keeps a MutatingAdmissionPolicy and its bindings for a resource with target.pods.inject, and pods created
// through the API server come back with the Secret's name exactly where the resource selects them; pods
// anywhere else come back as they would without the policy, spec for spec. The objects are restored when
// edited or deleted, and removed when inject is turned off and when the resource goes. With the daemon
// stopped, the API server goes on injecting.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, eventsFor, patchIps, readyCondition, rest, uniqueName,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { admitPod, INJECT_OPT_OUT_LABEL, pullSecretNames, readInjectionBindings, readInjectionObjects, untilInjecting, type PodInput } from '../support/admission.ts';
import { BINDINGS_PATH, injectionPolicyName, POLICIES_PATH } from '../../src/admission/policy.ts';
import type { ImagePullSecretSpec } from '../../src/api/v1alpha1/types.ts';

const team = uniqueName('team');
const ns = {
  own: uniqueName('inj-own'),
  source: uniqueName('inj-src'),
  byName: uniqueName('inj-name'),
  byLabel: uniqueName('inj-label'),
  unselected: uniqueName('inj-none'),
  optedOut: uniqueName('inj-out'),
  boundByLabel: uniqueName('inj-bound'),
};
const bindLabel = uniqueName('tier');
const resource = uniqueName('inj');
const SECRET = 'injected-pull';
let daemon: TestDaemon;

const spec = (inject: boolean): ImagePullSecretSpec => ({
  registry: { credentials: [{ name: 'hub', namespace: ns.source }] },
  target: {
    namespaces: { names: [ns.byName], labels: [{ matchLabels: { team } }] },
    namespacesWithPods: { labels: [{ matchLabels: { 'inject-me': team } }] },
    secret: { name: SECRET }, pods: { inject },
  },
});

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(ns.own, { team });
  await createNamespace(ns.source);
  await createNamespace(ns.byName);
  await createNamespace(ns.byLabel, { team });
  await createNamespace(ns.unselected);
  await createNamespace(ns.optedOut, { team, [INJECT_OPT_OUT_LABEL]: 'false' });
  await createNamespace(ns.boundByLabel, { tier: bindLabel });
  await createSecret(dockerConfigSecret(ns.source, 'hub', { 'r.example': { username: 'u', password: 'injection' } }));
  daemon = await startTestDaemon([`--namespace=${ns.own}`, '--admission-engine=policy']);
});

after(async () => {
  try {
    await deleteIpsAndWait([resource], 30_000);
    await daemon.stop();
  } finally {
    for (const name of Object.values(ns)) await deleteNamespace(name).catch(() => undefined);
    rest.close();
  }
});

/** Pods that must come back as they were sent: where, what, and the name each gets. */
const untouched: [string, string, PodInput][] = [
  ['unselected namespace', ns.unselected, {}],
  ['kube-system, a pod the pod rule selects', 'kube-system', { labels: { 'inject-me': team } }],
  ['the daemon\'s own namespace (selected by label)', ns.own, {}],
  ['an opted-out namespace (selected by label)', ns.optedOut, {}],
  ['an opted-out pod in a selected namespace', ns.byLabel, { labels: { [INJECT_OPT_OUT_LABEL]: 'false' } }],
  ['a mirror pod in a selected namespace', ns.byName, { annotations: { 'kubernetes.io/config.mirror': 'static' }, nodeName: 'n1' }],
  ['a pod that already names the Secret', ns.byName, { imagePullSecrets: [{ name: 'other' }, { name: SECRET }] }],
];

test('the daemon is on the policy engine', () => {
  assert.equal(daemon.admissionEngine, 'policy');
});

test('pods get the entry exactly where the resource selects them; every other pod comes back unchanged', { timeout: 120_000 }, async () => {
  // What the API server makes of each untouched pod without any policy: the reference, spec for spec.
  const before = await Promise.all(untouched.map(([, where, input], i) => admitPod(where, `ref-${String(i)}`, input, true)));
  const started = performance.now();
  await createIps(resource, spec(true));
  await untilInjecting(ns.byName, SECRET);
  console.log(`resource created -> the API server injects (dry-run probes every 100 ms): ${(performance.now() - started).toFixed(0)} ms`);
  await untilInjecting(ns.byLabel, SECRET);
  const suffix = uniqueName('p');
  const created: [string, string][] = [];
  const create = async (where: string, input: PodInput) => {
    const name = `${suffix}-${String(created.length)}`;
    created.push([where, name]);
    return admitPod(where, name, input);
  };
  try {
    assert.deepEqual(pullSecretNames(await create(ns.byName, {})), [SECRET], 'selected by name, no list');
    assert.deepEqual(pullSecretNames(await create(ns.byLabel, { imagePullSecrets: [{ name: 'a' }, { name: 'b' }] })), ['a', 'b', SECRET],
      'selected by label: appended after the entries the pod had');
    assert.deepEqual(pullSecretNames(await create(ns.unselected, { labels: { 'inject-me': team } })), [SECRET],
      'the pod rule: the admitted pod selects its own namespace');
    for (const [i, [what, where, input]] of untouched.entries()) {
      const pod = await create(where, input);
      const reference = before[i];
      assert.ok(reference);
      // The same spec as without the policy, but for the random suffix of the ServiceAccount token volume's name.
      assert.equal(sameVolumeNames(pod.spec), sameVolumeNames(reference.spec), what);
    }
  } finally {
    // At once: the mirror pod names a node, and without a kubelet to confirm a graceful deletion it would hold
    // its namespace in Terminating for good.
    await Promise.all(created.map(([where, name]) => rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${where}/pods/${name}`,
      query: { gracePeriodSeconds: 0 } }).catch(() => undefined)));
  }
});

test('the policy and binding are labelled, owned by the resource, written once, and restored when edited or deleted', { timeout: 60_000 }, async () => {
  const [policy, binding] = await eventually(async () => {
    const objects = await readInjectionObjects(resource);
    return objects.policy && objects.binding ? [objects.policy, objects.binding] as const : undefined;
  });
  const uid = (await rest.call<{ metadata: { uid: string } }>({ method: 'GET', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${resource}` })).metadata.uid;
  for (const o of [policy, binding]) {
    assert.deepEqual(o.metadata.labels, { 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': resource });
    assert.deepEqual((o.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences?.map((r) => r.uid), [uid]);
  }
  assert.equal(policy.spec.failurePolicy, 'Ignore');
  // Converged: the status says Synced, and neither object was written again after its create.
  await eventually(async () => (await readyCondition(resource))?.reason === 'Synced');
  for (const kind of ['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings']) {
    assert.deepEqual([await writes(kind, 'create'), await writes(kind, 'update')], [1, 0], kind);
  }

  await rest.call({ method: 'PATCH', path: `${POLICIES_PATH}/${injectionPolicyName(resource)}`, contentType: 'application/merge-patch+json',
    body: { spec: { failurePolicy: 'Fail', matchConditions: [{ name: 'never', expression: 'false' }] } } });
  await eventually(async () => {
    const now = (await readInjectionObjects(resource)).policy;
    return now?.spec.failurePolicy === 'Ignore' && JSON.stringify(now.spec.matchConditions) === JSON.stringify(policy.spec.matchConditions);
  }, { message: 'the edited policy is restored' });
  await rest.call({ method: 'DELETE', path: `${BINDINGS_PATH}/${injectionPolicyName(resource)}` });
  await eventually(async () => (await readInjectionObjects(resource)).binding?.metadata.uid !== binding.metadata.uid || undefined,
    { message: 'the deleted binding is recreated' });
  await untilInjecting(ns.byName, SECRET);
});

test('with the daemon stopped, pods still get the entry: the API server applies the policy itself', { timeout: 60_000 }, async () => {
  await daemon.stop();
  try {
    const name = uniqueName('down');
    const pod = await admitPod(ns.byLabel, name, {});
    await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${ns.byLabel}/pods/${name}` }).catch(() => undefined);
    assert.deepEqual(pullSecretNames(pod), [SECRET]);
  } finally {
    daemon = await startTestDaemon([`--namespace=${ns.own}`, '--admission-engine=policy']);
  }
});

test('turning inject off removes both objects, and pods are no longer mutated; deleting the resource removes them too', { timeout: 90_000 }, async () => {
  await patchIps(resource, spec(false));
  await eventually(async () => { const o = await readInjectionObjects(resource); return !o.policy && !o.binding; },
    { message: 'inject: false removes the policy and the binding' });
  await eventually(async () => pullSecretNames(await admitPod(ns.byName, 'canary', {}, true)) === undefined,
    { message: 'pods come back without the entry once the policy is gone' });
  await patchIps(resource, spec(true));
  await eventually(async () => { const o = await readInjectionObjects(resource); return o.policy && o.binding; });
  await deleteIpsAndWait([resource], 30_000);
  await eventually(async () => { const o = await readInjectionObjects(resource); return !o.policy && !o.binding; },
    { message: 'deleting the resource removes the policy and the binding' });
});

test('a resource selecting by names and labels gets one binding per rule, scoped to its namespaces; a rule removed removes its binding', { timeout: 90_000 }, async () => {
  const scoped = uniqueName('inj-scoped');
  const SCOPED = 'scoped-pull';
  const scopedSpec: ImagePullSecretSpec = { registry: { credentials: [{ name: 'hub', namespace: ns.source }] },
    target: { namespaces: { names: [ns.byName], labels: [{ matchLabels: { tier: bindLabel } }] }, secret: { name: SCOPED }, pods: { inject: true } } };
  const byName = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns.byName] }] };
  const byLabel = { matchLabels: { tier: bindLabel }, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [ns.byName] }] };
  const selectors = async () => (await readInjectionBindings(scoped)).map((b) => [b.metadata.name, (b.spec.matchResources as { namespaceSelector?: unknown } | undefined)?.namespaceSelector]);
  try {
    await createIps(scoped, scopedSpec);
    // Stored as compiled: the API server accepts the selectors and adds no defaults the daemon would take for drift.
    await eventually(async () => JSON.stringify(await selectors()) === JSON.stringify([[`pullsecret-sync-${scoped}`, byName], [`pullsecret-sync.${scoped}.2`, byLabel]]) || undefined,
      { message: 'a binding for the names and one for the label selector', timeoutMs: 20_000 });
    await untilInjecting(ns.byName, SCOPED);
    await untilInjecting(ns.boundByLabel, SCOPED);
    const name = uniqueName('scoped');
    const outside = await admitPod(ns.unselected, name, {});
    await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${ns.unselected}/pods/${name}` }).catch(() => undefined);
    assert.equal(pullSecretNames(outside), undefined, 'a pod outside the bound namespaces is untouched');

    const second = (await readInjectionBindings(scoped))[1] ?? assert.fail('no second binding');
    await rest.call({ method: 'DELETE', path: `${BINDINGS_PATH}/${second.metadata.name}` });
    await eventually(async () => (await readInjectionBindings(scoped))[1]?.metadata.uid !== second.metadata.uid || undefined,
      { message: 'the deleted second binding is recreated' });

    // A merge patch: `null` removes the label selectors.
    await rest.call({ method: 'PATCH', path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${scoped}`, contentType: 'application/merge-patch+json',
      body: { spec: { target: { namespaces: { labels: null } } } } });
    await eventually(async () => JSON.stringify(await selectors()) === JSON.stringify([[`pullsecret-sync-${scoped}`, byName]]) || undefined,
      { message: 'the label selector\'s binding is removed', timeoutMs: 20_000 });
    await eventually(async () => !pullSecretNames(await admitPod(ns.boundByLabel, 'canary', {}, true))?.includes(SCOPED),
      { message: 'pods in the namespace selected by the label alone no longer get the entry' });
    await untilInjecting(ns.byName, SCOPED);
    assert.equal(await writes('mutatingadmissionpolicybindings', 'update'), 0, 'no binding of this file was ever rewritten: what is stored is what the daemon compiles');
  } finally {
    await deleteIpsAndWait([scoped], 30_000);
  }
  await eventually(async () => (await readInjectionBindings(scoped)).length === 0, { message: 'deleting the resource removes its bindings' });
});

test('a resource whose selection is too large for a policy gets a Warning Event and no policy; its Secrets are written all the same', { timeout: 60_000 }, async () => {
  const big = uniqueName('inj-big');
  const names = [ns.byName, ...Array.from({ length: 9000 }, (_, i) => `absent-${String(i)}`)];
  try {
    await createIps(big, { registry: { credentials: [{ name: 'hub', namespace: ns.source }] },
      target: { namespaces: { names }, secret: { name: SECRET }, pods: { inject: true } } });
    const event = await eventually(async () => (await eventsFor(big)).find((e) => e.reason === 'InjectionPolicyTooLarge'),
      { timeoutMs: 20_000, message: 'the Warning Event' });
    assert.equal(event.type, 'Warning');
    assert.match(event.note ?? '', /select by labels instead of long name lists, or split the resource/);
    await eventually(async () => (await readyCondition(big))?.reason === 'Synced', { timeoutMs: 20_000, message: 'the resource is Synced' });
    assert.deepEqual(await readInjectionObjects(big), {});
  } finally {
    await deleteIpsAndWait([big], 30_000);
  }
});

/** A pod spec as JSON with the ServiceAccount token volume's random suffix taken out. */
const sameVolumeNames = (spec: unknown): string => JSON.stringify(spec).replaceAll(/kube-api-access-[a-z0-9]+/g, 'kube-api-access');

/** Successful writes of `verb` the daemon made to `resource` (its api_writes metric). */
async function writes(resource: string, verb: string): Promise<number> {
  const { values } = await daemon.metrics.apiWrites.get();
  return values.filter((v) => v.labels.resource === resource && v.labels.verb === verb && v.labels.code === '2xx')
    .reduce((sum, v) => sum + v.value, 0);
}
