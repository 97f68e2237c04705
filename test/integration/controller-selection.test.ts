// Selection end to end: each selection rule selects a namespace and, once it stops holding, deselects
// it; new namespaces and pods get their Secret within a second.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createPod, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigOf, dockerConfigSecret, eventsFor,
  patchNamespace, readIps, rest, uniqueName, waitForNoSecret, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';

let daemon: TestDaemon;
const cleanup: string[] = [];
const resources: string[] = [];
const sourceNs = uniqueName('source');
const secretName = uniqueName('pull');
const key = `sel-${Date.now().toString(36)}`; // label/annotation keys unique to this run
const SECOND = 1000;

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'dockerhub', { 'https://index.docker.io/v1/': { username: 'u', password: 'p1' } }));
});

after(async () => {
  await deleteIpsAndWait(resources);
  await daemon.stop();
  for (const ns of [...cleanup, sourceNs]) await deleteNamespace(ns);
  rest.close();
});

async function ips(target: object): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'dockerhub', namespace: sourceNs }] },
    target: { secret: { name: secretName }, ...target } });
  return name;
}

async function ns(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('ns');
  cleanup.push(name);
  return createNamespace(name, labels, annotations);
}

test('a namespace selected by name gets the Secret, with the merged credentials', async () => {
  const named = await ns();
  await ips({ namespaces: { names: [named] } });
  const secret = await waitForSecret(named, secretName);
  assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
  assert.deepEqual(Object.keys(dockerConfigOf(secret).auths), ['https://index.docker.io/v1/']);
  assert.equal(secret.metadata.labels?.['app.kubernetes.io/managed-by'], 'pullsecret-sync');
});

test('a label selector selects and deselects within a second of the label change', async () => {
  await ips({ namespaces: { labels: [{ matchLabels: { [`${key}/pull`]: 'yes' } }] } });
  const target = await ns();
  await patchNamespace(target, { labels: { [`${key}/pull`]: 'yes' } });
  await waitForSecret(target, secretName, SECOND);
  await patchNamespace(target, { labels: { [`${key}/pull`]: null } });
  await waitForNoSecret(target, secretName, SECOND);
});

test('matchExpressions select by key existence', async () => {
  await ips({ namespaces: { labels: [{ matchExpressions: [{ key: `${key}/rev`, operator: 'Exists' }] }] } });
  const target = await ns({ [`${key}/rev`]: 'canary' });
  await waitForSecret(target, secretName, SECOND);
  await patchNamespace(target, { labels: { [`${key}/rev`]: null } });
  await waitForNoSecret(target, secretName, SECOND);
});

test('an annotation selector selects and deselects, with values outside label syntax', async () => {
  await ips({ namespaces: { annotations: [{ matchAnnotations: { [`${key}/team`]: 'Platform & Tools' } }] } });
  const target = await ns({}, { [`${key}/team`]: 'Platform & Tools' });
  await waitForSecret(target, secretName, SECOND);
  await patchNamespace(target, { annotations: { [`${key}/team`]: 'other' } });
  await waitForNoSecret(target, secretName, SECOND);
});

test('a new matching pod in an unselected namespace brings the Secret within a second', async () => {
  await ips({ namespacesWithPods: { labels: [{ matchLabels: { [`${key}-sidecar`]: 'true' } }] } });
  const target = await ns();
  await createPod(target, 'plain');
  await createPod(target, 'injected', { [`${key}-sidecar`]: 'true' });
  await waitForSecret(target, secretName, SECOND);
  await rest.call({ method: 'DELETE', path: `/api/v1/namespaces/${target}/pods/injected`, query: { gracePeriodSeconds: 0 } });
  await waitForNoSecret(target, secretName, 5 * SECOND);
});

test('pod annotations select too', async () => {
  await ips({ namespacesWithPods: { annotations: [{ matchAnnotations: { [`${key}/inject`]: 'true' } }] } });
  const target = await ns();
  await createPod(target, 'annotated', {}, { [`${key}/inject`]: 'true' });
  await waitForSecret(target, secretName, SECOND);
});

test('a new namespace matching a label selector has its Secret within a second; the count changes without Events', async () => {
  const name = await ips({ namespaces: { labels: [{ matchLabels: { [`${key}/new`]: 'yes' } }] } });
  for (let i = 0; i < 3; i++) {
    const target = await ns({ [`${key}/new`]: 'yes' });
    await waitForSecret(target, secretName, SECOND);
  }
  await eventually(async () => (await readIps(name))?.status?.managedNamespaceCount === 3, { message: 'status counts 3 namespaces' });
  const synced = (await eventsFor(name)).filter((e) => e.reason === 'Synced');
  assert.equal(synced.length, 1, `one Synced Event for the transition, not one per count: ${JSON.stringify(synced)}`);
});
