// Switching the admission engine away from the policy engine leaves no policy behind: a daemon on the
// policy engine writes a resource's MutatingAdmissionPolicy and binding; the next daemon, with
// --admission-engine=off, removes them as it starts leading (chart RBAC), and a pod created in a selected
// namespace then comes back without the entry. A policy without the daemon's label is left alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import { createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigSecret, rest, uniqueName } from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { admitPod, pullSecretNames, readInjectionObjects, untilInjecting } from '../support/admission.ts';
import { POLICIES_PATH } from '../../src/admission/policy.ts';
import { isStatus } from '../../src/kube/rest.ts';

const team = uniqueName('team');
const ns = { own: uniqueName('sw-own'), source: uniqueName('sw-src'), selected: uniqueName('sw-sel') };
const resource = uniqueName('sw');
const foreign = uniqueName('foreign-policy');
const SECRET = 'switched-pull';
const daemons: TestDaemon[] = [];

before(async () => {
  await installCrd(adminKubeConfig());
  await createNamespace(ns.own);
  await createNamespace(ns.source);
  await createNamespace(ns.selected, { team });
  await createSecret(dockerConfigSecret(ns.source, 'hub', { 'r.example': { username: 'u', password: 'switch' } }));
});

after(async () => {
  try {
    await deleteIpsAndWait([resource], 30_000);
  } finally {
    for (const d of daemons) await d.stop().catch(() => undefined);
    await rest.call({ method: 'DELETE', path: `${POLICIES_PATH}/${foreign}` }).catch(() => undefined);
    for (const name of Object.values(ns)) await deleteNamespace(name);
    rest.close();
  }
});

test('after a switch to --admission-engine=off the policy and binding are gone and pods are no longer mutated', { timeout: 120_000 }, async () => {
  const onPolicy = await startTestDaemon([`--namespace=${ns.own}`, '--admission-engine=policy']);
  daemons.push(onPolicy);
  await createIps(resource, { registry: { credentials: [{ name: 'hub', namespace: ns.source }] },
    target: { namespaces: { labels: [{ matchLabels: { team } }] }, secret: { name: SECRET }, pods: { inject: true } } });
  await untilInjecting(ns.selected, SECRET);
  const ours = await readInjectionObjects(resource);
  assert.ok(ours.policy && ours.binding, 'the policy engine wrote the policy and its binding');
  // Someone else's policy (no binding, so it mutates nothing): it must survive the switch.
  const { spec } = await rest.call<{ spec: unknown }>({ method: 'GET', path: `${POLICIES_PATH}/${ours.policy.metadata.name}` });
  await rest.call({ method: 'POST', path: POLICIES_PATH, body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingAdmissionPolicy',
    metadata: { name: foreign }, spec } });
  await onPolicy.stop();
  daemons.splice(0);

  const off = await startTestDaemon([`--namespace=${ns.own}`, '--admission-engine=off']);
  daemons.push(off);
  const start = Date.now();
  await eventually(async () => {
    const left = await readInjectionObjects(resource);
    return !left.policy && !left.binding;
  }, { timeoutMs: 10_000, message: 'the policy and its binding are removed' });
  console.log(`policy and binding removed ${String(Date.now() - start)} ms after the daemon with --admission-engine=off started leading`);
  assert.ok(off.logs.some((line) => line.includes('"policies":1') && line.includes('"bindings":1')), 'the removal is logged with its counts');
  const foreignLeft = await rest.call({ method: 'GET', path: `${POLICIES_PATH}/${foreign}` }).catch((err: unknown) => {
    if (isStatus(err, 404)) return undefined;
    throw err;
  });
  assert.ok(foreignLeft, 'a policy without the daemon\'s label is left alone');
  // The API server drops the policy from its admission chain once its watch sees the deletion.
  await eventually(async () => pullSecretNames(await admitPod(ns.selected, 'after-switch', {}, true)) === undefined,
    { timeoutMs: 10_000, intervalMs: 100, message: 'a pod in a selected namespace is no longer mutated' });
  const pod = await admitPod(ns.selected, uniqueName('pod'));
  assert.deepEqual(pullSecretNames(pod), undefined, 'a pod created after the switch carries no injected entry');
});
