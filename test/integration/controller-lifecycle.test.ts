// The life of a target Secret on the real API server: it works for a real registry
// client, merges deterministically, never overwrites what it does not own, follows the resource through
// rename and deletion, repairs drift at once, writes nothing into a Terminating namespace and
// stays still once converged.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scratchDir } from '../support/scratch.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, deleteSecret, dockerConfigOf, dockerConfigSecret,
  eventsFor, managedSecrets, patchIps, patchSecret, readIps, readSecret, readyCondition, rest, uniqueName, waitForNoSecret, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { makeOciImage } from '../support/oci-image.ts';
import { authFile, inspect, push } from '../support/skopeo.ts';
import type { ImagePullSecretSpec } from '../../src/api/v1alpha1/types.ts';
import { Writes } from '../../src/kube/writes.ts';

const SECOND = 1000;
let daemon: TestDaemon;
const namespaces: string[] = [];
const resources: string[] = [];
const sourceNs = uniqueName('source');
const b64 = (s: string) => Buffer.from(s).toString('base64');

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'first', { 'https://r.example/': { username: 'u', password: 'p-first' } }));
  await createSecret(dockerConfigSecret(sourceNs, 'second', { 'r.example': { username: 'u', password: 'p-second' },
    'only-second.example': { username: 'u', password: 'p2' } }));
});

after(async () => {
  await deleteIpsAndWait(resources);
  await daemon.stop();
  for (const ns of [...namespaces, sourceNs]) await deleteNamespace(ns);
  rest.close();
});

async function ns(): Promise<string> {
  const name = uniqueName('ns');
  namespaces.push(name);
  return createNamespace(name);
}

async function ips(spec: { sources: string[]; namespaces: string[]; secret?: string }): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  const body: ImagePullSecretSpec = {
    registry: { credentials: spec.sources.map((s) => ({ name: s, namespace: sourceNs })) },
    target: { namespaces: { names: spec.namespaces }, secret: { name: spec.secret ?? 'pull' } },
  };
  await createIps(name, body);
  return name;
}

const passwordFor = async (namespace: string, registry: string, secret = 'pull') =>
  dockerConfigOf(await waitForSecret(namespace, secret)).auths[registry]?.password;

test('skopeo pulls from the registry with the auth file taken from the written Secret', async () => {
  const registry = currentTestbed().registry;
  assert.ok(registry);
  const user = registry.users[0];
  assert.ok(user);
  const image = `${registry.host}/lifecycle/hello:v1`;
  const pushed = await push(makeOciImage(scratchDir('img')), image, registry.certDir, `${user.username}:${user.password}`);
  assert.ok(pushed.ok, pushed.stderr);
  await createSecret(dockerConfigSecret(sourceNs, 'testbed-registry', { [registry.host]: user }));
  const target = await ns();
  await ips({ sources: ['testbed-registry'], namespaces: [target], secret: 'registry-pull' });
  const secret = await waitForSecret(target, 'registry-pull');
  const bytes = Buffer.from(secret.data?.['.dockerconfigjson'] ?? '', 'base64').toString();
  const pulled = await inspect(image, registry.certDir, authFile(bytes));
  assert.ok(pulled.ok, pulled.stderr);
});

test('two sources for one registry: the first in spec order wins every time, and status names the shadowed one', async () => {
  for (let round = 0; round < 3; round++) {
    const target = await ns();
    const name = await ips({ sources: ['first', 'second'], namespaces: [target] });
    assert.equal(await passwordFor(target, 'r.example'), 'p-first');
    assert.equal(await passwordFor(target, 'only-second.example'), 'p2');
    const status = await eventually(async () => (await readIps(name))?.status?.sources?.length === 2 && (await readIps(name))?.status);
    assert.deepEqual(status.sources?.map((s) => [s.reference, s.shadowed ?? []]),
      [[`Secret ${sourceNs}/first`, []], [`Secret ${sourceNs}/second`, ['r.example']]]);
  }
  const reversed = await ns();
  await ips({ sources: ['second', 'first'], namespaces: [reversed] });
  assert.equal(await passwordFor(reversed, 'r.example'), 'p-second');
});

test('after a create conflict, the live check tells our Secret (not yet cached) from someone else\'s', async () => {
  const target = await ns();
  await createSecret({ metadata: { name: 'ours', namespace: target, labels: { 'app.kubernetes.io/managed-by': 'pullsecret-sync' } }, type: 'Opaque' });
  await createSecret({ metadata: { name: 'theirs', namespace: target, labels: { 'app.kubernetes.io/managed-by': 'someone-else' } }, type: 'Opaque' });
  const writes = new Writes(rest);
  assert.equal(await writes.isManagedSecret(target, 'ours'), true);
  assert.equal(await writes.isManagedSecret(target, 'theirs'), false);
  assert.equal(await writes.isManagedSecret(target, 'absent'), false);
});

test('a pre-existing unmanaged Secret is left byte-for-byte alone and reported as a conflict', async () => {
  const target = await ns();
  const theirs = await createSecret({ metadata: { name: 'pull', namespace: target }, type: 'Opaque', data: { token: b64('theirs') } });
  const name = await ips({ sources: ['first'], namespaces: [target] });
  const ready = await eventually(async () => {
    const c = await readyCondition(name);
    return c?.reason === 'Conflict' && c;
  }, { message: 'Ready=False with reason Conflict' });
  assert.equal(ready.status, 'False');
  assert.match(ready.message, new RegExp(target));
  assert.deepEqual((await readIps(name))?.status?.conflicts, [{ namespace: target, holder: 'unmanaged' }]);
  await eventually(async () => (await eventsFor(name)).some((e) => e.reason === 'Conflict' && e.type === 'Warning'), { message: 'a Conflict event' });
  const now = await readSecret(target, 'pull');
  assert.equal(now?.metadata.resourceVersion, theirs.metadata.resourceVersion);
  assert.deepEqual(now?.data, { token: b64('theirs') });
  // The daemon waits for their Secret to change rather than retrying on a timer: once it is gone, the
  // resource's own Secret follows within seconds (no periodic recheck would come this soon).
  await deleteSecret(target, 'pull');
  await eventually(async () => (await readSecret(target, 'pull'))?.metadata.labels?.['pullsecret-sync.dev/owner'] === name,
    { timeoutMs: 3000, message: 'the resource writes its Secret once theirs is gone' });
  await eventually(async () => (await readyCondition(name))?.reason === 'Synced', { message: 'the conflict clears' });
});

test('two resources for one Secret name: the older owns it, the younger reports the conflict and takes over when the older goes', async () => {
  const target = await ns();
  const older = await ips({ sources: ['first'], namespaces: [target] });
  await eventually(async () => (await readSecret(target, 'pull'))?.metadata.labels?.['pullsecret-sync.dev/owner'] === older);
  // creationTimestamp has one-second resolution: make sure the younger one is really younger.
  await eventually(async () => Date.now() - Date.parse((await readIps(older))?.metadata.creationTimestamp ?? '') > 1000, { timeoutMs: 3000 });
  const younger = await ips({ sources: ['second'], namespaces: [target] });
  await eventually(async () => (await readIps(younger))?.status?.conflicts?.some((c) => c.holder === `ImagePullSecret/${older}`),
    { message: 'the younger resource reports the older as holder' });
  assert.equal((await readSecret(target, 'pull'))?.metadata.labels?.['pullsecret-sync.dev/owner'], older);
  await deleteIpsAndWait([older]);
  await eventually(async () => (await readSecret(target, 'pull'))?.metadata.labels?.['pullsecret-sync.dev/owner'] === younger,
    { message: 'the younger resource takes over' });
});

test('renaming the target Secret removes the old ones; deleting the resource removes every Secret it wrote', async () => {
  const a = await ns();
  const b = await ns();
  const name = await ips({ sources: ['first'], namespaces: [a, b], secret: 'old-name' });
  await waitForSecret(a, 'old-name');
  await waitForSecret(b, 'old-name');
  await patchIps(name, { target: { namespaces: { names: [a, b] }, secret: { name: 'new-name' } } });
  for (const n of [a, b]) {
    await waitForSecret(n, 'new-name');
    await waitForNoSecret(n, 'old-name');
  }
  await deleteIpsAndWait([name]);
  for (const n of [a, b]) assert.equal(await readSecret(n, 'new-name'), undefined);
});

test('a managed Secret edited or deleted by hand is restored within a second', async () => {
  const target = await ns();
  await ips({ sources: ['first'], namespaces: [target], secret: 'drift' });
  const original = await waitForSecret(target, 'drift');
  await patchSecret(target, 'drift', { data: { '.dockerconfigjson': b64('{"auths":{}}') } });
  await eventually(async () => (await readSecret(target, 'drift'))?.data?.['.dockerconfigjson'] === original.data?.['.dockerconfigjson'],
    { timeoutMs: SECOND, message: 'edited data restored' });
  await deleteSecret(target, 'drift');
  await eventually(async () => {
    const s = await readSecret(target, 'drift');
    return s !== undefined && s.metadata.uid !== original.metadata.uid;
  }, { timeoutMs: SECOND, message: 'deleted Secret re-created' });
});

/** Target reconciles the daemon has finished, whatever their outcome (a user's view: its metrics). */
async function targetReconciles(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(daemon.metricsPort)}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('pullsecret_sync_reconcile_total{controller="target"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('a Terminating namespace gets no writes: its Secret is neither updated nor re-created, and no error repeats', async () => {
  const HOLD = 'example.com/hold';
  const source = uniqueName('terminating-src');
  const setPassword = (password: string) => dockerConfigSecret(sourceNs, source, { 'terminating.example': { username: 'u', password } });
  await createSecret(setPassword('before'));
  const [live, held, emptied] = [await ns(), await ns(), await ns()];
  await ips({ sources: [source], namespaces: [live, held, emptied] });
  for (const n of [live, held, emptied]) await waitForSecret(n, 'pull');
  // `held` keeps our Secret itself (a finalizer on it), so an update would go through; `emptied` is kept
  // Terminating by a ConfigMap after the namespace controller has deleted our Secret, so only a create
  // could write there, and the API server refuses creates in a Terminating namespace.
  await patchSecret(held, 'pull', { metadata: { finalizers: [HOLD] } });
  await rest.call({ method: 'POST', path: `/api/v1/namespaces/${emptied}/configmaps`, body: { metadata: { name: 'hold', finalizers: [HOLD] } } });
  const release = async () => {
    await patchSecret(held, 'pull', { metadata: { finalizers: null } }).catch(() => undefined);
    await rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${emptied}/configmaps/hold`, contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } } }).catch(() => undefined);
  };
  try {
    await deleteNamespace(held);
    await deleteNamespace(emptied);
    const heldSecret = await eventually(async () => {
      const s = await readSecret(held, 'pull');
      return s?.metadata.deletionTimestamp !== undefined && (await readSecret(emptied, 'pull')) === undefined && s;
    }, { timeoutMs: 30 * SECOND, message: 'the namespace controller has emptied both namespaces as far as it can' });
    const logsBefore = daemon.logs.length;
    const reconciledBefore = await targetReconciles();

    await patchSecret(sourceNs, source, { data: setPassword('after').data });
    await eventually(async () => (await passwordFor(live, 'terminating.example')) === 'after', { message: 'the live namespace follows the source' });
    // Each of the three namespaces got its target reconcile (the daemon is idle again).
    await eventually(async () => (await targetReconciles()) >= reconciledBefore + 3, { message: 'every namespace reconciled' });

    const after = await readSecret(held, 'pull');
    assert.equal(after?.metadata.resourceVersion, heldSecret.metadata.resourceVersion, 'the Secret in the Terminating namespace was not updated');
    assert.equal(await readSecret(emptied, 'pull'), undefined, 'nothing was created in the Terminating namespace');
    const lines = daemon.logs.slice(logsBefore).join('').split('\n').filter((l) => l.includes(held) || l.includes(emptied));
    assert.deepEqual(lines.filter((l) => l.includes('"API write"')), [], 'no write was even tried there');
    assert.deepEqual(lines.filter((l) => /"level":"(warn|error|fatal)"/.test(l)), [], 'no warning or error about the Terminating namespaces');
  } finally {
    await release();
  }
});

test('after convergence no managed Secret changes for 60 s', { timeout: 120_000 }, async () => {
  const converged = await eventually(async () => {
    const before = await managedSecrets();
    await new Promise((r) => { setTimeout(r, 2000); });
    const again = await managedSecrets();
    return [...again].every(([k, s]) => before.get(k)?.metadata.resourceVersion === s.metadata.resourceVersion) && again;
  }, { timeoutMs: 30_000, message: 'managed Secrets settle' });
  assert.ok(converged.size >= 5, `expected the Secrets of this file, saw ${String(converged.size)}`);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const now = await managedSecrets();
    for (const [k, s] of converged) assert.equal(now.get(k)?.metadata.resourceVersion, s.metadata.resourceVersion, `${k} was rewritten`);
    await new Promise((r) => { setTimeout(r, 5000); });
  }
});
