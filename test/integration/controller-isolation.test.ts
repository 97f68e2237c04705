// Bad input stays contained: a broken source Secret or a semantically invalid
// selector shows up as a condition and an Event on its own resource while other resources keep working;
// a source that breaks later keeps its last good credentials in place. Also ServiceAccount patching.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigOf, dockerConfigSecret, eventsFor,
  patchIps, patchNamespace, patchSecret, readIps, readSecret, readyCondition, rest, uniqueName, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { quiescent } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import { isStatus } from '../../src/kube/rest.ts';
import type { ImagePullSecretSpec, Target } from '../../src/api/v1alpha1/types.ts';
import type { ServiceAccount } from '../../src/kube/objects.ts';

let daemon: TestDaemon;
const namespaces: string[] = [];
const resources: string[] = [];
const sourceNs = uniqueName('source');
const b64 = (s: string) => Buffer.from(s).toString('base64');

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  await createNamespace(sourceNs);
  await createSecret(dockerConfigSecret(sourceNs, 'good', { 'good.example': { username: 'u', password: 'GOOD-PASSWORD-1' } }));
  await createSecret({ metadata: { name: 'malformed', namespace: sourceNs }, type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64('{"auths": {"x.example": {"auth": "MALFORMED-SECRET-VALUE!"}}}') } });
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

async function ips(sources: string[], target: Omit<Target, 'secret'>, secret = 'pull'): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  const spec: ImagePullSecretSpec = { registry: { credentials: sources.map((s) => ({ name: s, namespace: sourceNs })) },
    target: { ...target, secret: { name: secret } } };
  await createIps(name, spec);
  return name;
}

async function waitForReason(name: string, reason: string) {
  return eventually(async () => {
    const c = await readyCondition(name);
    return c?.reason === reason && c;
  }, { message: `${name} Ready reason ${reason}` });
}

const warned = (name: string, reason: string) =>
  eventually(async () => (await eventsFor(name)).some((e) => e.type === 'Warning' && e.reason === reason), { message: `${reason} event on ${name}` });

test('a malformed source Secret shows on its resource only; the other resource keeps working', async () => {
  const target = await ns();
  const broken = await ips(['malformed'], { namespaces: { names: [target] } }, 'broken');
  const healthy = await ips(['good'], { namespaces: { names: [target] } }, 'healthy');
  await waitForSecret(target, 'healthy');
  const ready = await waitForReason(broken, 'SourceError');
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /malformed: entry for x.example has an auth field that is not base64 of user:password/);
  assert.doesNotMatch(ready.message, /MALFORMED-SECRET-VALUE/);
  await warned(broken, 'SourceError');
  assert.equal(await readSecret(target, 'broken'), undefined, 'no empty Secret is written');
  assert.equal((await waitForReason(healthy, 'Synced')).status, 'True');
});

test('a semantically invalid selector gives InvalidSpec on its resource only', async () => {
  const target = await ns();
  const invalid = await ips(['good'], { namespaces: { names: [target], labels: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['not a label value'] }] }] } }, 'invalid');
  const healthy = await ips(['good'], { namespaces: { names: [target] } }, 'fine');
  await waitForSecret(target, 'fine');
  const ready = await waitForReason(invalid, 'InvalidSpec');
  assert.match(ready.message, /spec.target.namespaces.labels\[0\].matchExpressions\[0\].values\[0\]: "not a label value" is not a valid label value/);
  await warned(invalid, 'InvalidSpec');
  assert.equal(await readSecret(target, 'invalid'), undefined);
  assert.equal((await waitForReason(healthy, 'Synced')).status, 'True');
});

test('bad labels or annotations for the target Secret are InvalidSpec up front, each problem once, nothing written', async () => {
  const target = await ns();
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'good', namespace: sourceNs }] }, target: { namespaces: { names: [target] },
    secret: { name: 'labelled', labels: { team: 'not a label value' }, annotations: { 'bad key!': 'x' } } } });
  const ready = await waitForReason(name, 'InvalidSpec');
  assert.equal(ready.message, 'spec.target.secret.labels: the value of team is not a valid label value, '
    + 'spec.target.secret.annotations: "bad key!" is not a valid annotation key');
  assert.equal(await readSecret(target, 'labelled'), undefined);
});

test('a write the API server refuses is a WriteError, and Synced is never reported before a write succeeded', async () => {
  const target = await ns();
  // A quota of zero Secrets (its status set by hand: the testbed runs no quota controller).
  const quotas = `/api/v1/namespaces/${target}/resourcequotas`;
  await rest.call({ method: 'POST', path: quotas, body: { metadata: { name: 'no-secrets' }, spec: { hard: { secrets: '0' } } } });
  await rest.call({ method: 'PATCH', path: `${quotas}/no-secrets/status`, contentType: 'application/merge-patch+json',
    body: { status: { hard: { secrets: '0' }, used: { secrets: '0' } } } });
  const name = await ips(['good'], { namespaces: { names: [target] } }, 'refused');
  const ready = await waitForReason(name, 'WriteError');
  assert.match(ready.message, /exceeded quota/);
  await warned(name, 'WriteError');
  assert.deepEqual((await eventsFor(name)).filter((e) => e.reason === 'Synced'), [], 'no Synced Event before a write succeeded');
});

test('keys with credentials in them are refused by position, a __proto__ key is written, and status stays small', async () => {
  // An own __proto__ property (defineProperty; a literal would set the prototype), as a client sends it.
  const auths: Record<string, { auth: string }> = {};
  Object.defineProperty(auths, '__proto__', { value: { auth: b64('proto:pw') }, enumerable: true });
  auths['good.example'] = { auth: b64('u:p') };
  for (let i = 0; i < 2000; i++) auths[`https://bob:KEY-SECRET-${String(i)}@r${String(i)}.example`] = { auth: b64('u:p') };
  await createSecret({ metadata: { name: 'userinfo', namespace: sourceNs }, type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) } });
  const target = await ns();
  const name = await ips(['userinfo'], { namespaces: { names: [target] } }, 'userinfo');
  const ready = await waitForReason(name, 'SourceError');
  assert.match(ready.message, /auths key #3 carries user information/);
  assert.ok(ready.message.length <= 1024, `condition message of ${String(ready.message.length)} characters`);
  const ips1 = await readIps(name);
  const text = JSON.stringify({ status: ips1?.status, events: await eventsFor(name) });
  assert.doesNotMatch(text, /KEY-SECRET|bob/, 'no key text in status or Events');
  assert.deepEqual(ips1?.status?.sources?.[0]?.registries, ['__proto__', 'good.example']);
  const secret = await waitForSecret(target, 'userinfo');
  assert.deepEqual(Object.keys(dockerConfigOf(secret).auths).sort(), ['__proto__', 'good.example'], 'the Secret has what status lists');
});

test('the API server itself refuses structurally malformed resources, with the reason', async () => {
  const cases: [ImagePullSecretSpec, RegExp][] = [
    [{ registry: { credentials: [{ name: 'good', namespace: sourceNs }] }, target: { secret: { name: 'x' },
      namespaces: { labels: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] } } }, /In and NotIn need values/],
    [{ registry: {}, target: { secret: { name: 'x' } } }, /name at least one credential source/],
    [{ registry: { ecr: [{ region: 'eu-west-1', accountIDs: ['12'] }] }, target: { secret: { name: 'x' } } }, /accountIDs\[0\]/],
  ];
  const good: ImagePullSecretSpec = { registry: { credentials: [{ name: 'good', namespace: sourceNs }] }, target: { secret: { name: 'x' } } };
  // A name longer than a label value could never be written as the owner label of its Secrets.
  await assert.rejects(createIps('n'.repeat(64), good), /metadata.name must be at most 63 characters/);
  for (const [spec, want] of cases) {
    await assert.rejects(createIps(uniqueName('ips'), spec), (err: unknown) => {
      assert.ok(isStatus(err, 422));
      assert.match(String(err), want);
      return true;
    });
  }
});

test('a source that breaks later keeps its last good credentials in the Secret and reports the failure', async () => {
  await createSecret(dockerConfigSecret(sourceNs, 'flaky', { 'flaky.example': { username: 'u', password: 'FLAKY-1' } }));
  const target = await ns();
  const name = await ips(['flaky'], { namespaces: { names: [target] } }, 'lkg');
  const written = await waitForSecret(target, 'lkg');
  // The API server checks that the data is JSON; ours also checks what the JSON says.
  await patchSecret(sourceNs, 'flaky', { data: { '.dockerconfigjson': b64('{"auths": {"flaky.example": {}}}') } });
  const ready = await waitForReason(name, 'SourceError');
  assert.match(ready.message, /flaky/);
  assert.equal((await readSecret(target, 'lkg'))?.metadata.resourceVersion, written.metadata.resourceVersion);
  await patchSecret(sourceNs, 'flaky', dockerConfigSecret(sourceNs, 'flaky', { 'flaky.example': { username: 'u', password: 'FLAKY-2' } }));
  await eventually(async () => {
    const s = await readSecret(target, 'lkg');
    return s && dockerConfigOf(s).auths['flaky.example']?.password === 'FLAKY-2';
  }, { message: 'the repaired source reaches the Secret' });
  await waitForReason(name, 'Synced');
});

async function pullSecretsOf(namespace: string): Promise<string[]> {
  const sa = await rest.call<ServiceAccount>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/serviceaccounts/default` });
  return (sa.imagePullSecrets ?? []).map((e) => e.name);
}

test('named ServiceAccounts get the Secret in imagePullSecrets; entries of others are never touched', async () => {
  const label = `sa-${Date.now().toString(36)}`;
  const target = await ns();
  const sa = await eventually(() => rest.call<ServiceAccount>({ method: 'GET', path: `/api/v1/namespaces/${target}/serviceaccounts/default` }));
  await rest.call({ method: 'PATCH', path: `/api/v1/namespaces/${target}/serviceaccounts/default`, contentType: 'application/merge-patch+json',
    body: { metadata: { resourceVersion: sa.metadata.resourceVersion }, imagePullSecrets: [{ name: 'someone-elses' }] } });
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { credentials: [{ name: 'good', namespace: sourceNs }] },
    target: { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] }, secret: { name: 'sa-pull' }, serviceAccounts: { names: ['default'] } } });
  await patchNamespace(target, { labels: { [label]: 'yes' } });
  await eventually(async () => (await pullSecretsOf(target)).includes('sa-pull'), { message: 'default SA lists sa-pull' });
  assert.deepEqual(await pullSecretsOf(target), ['someone-elses', 'sa-pull']);
  // Renaming the target Secret replaces our entry and our Secret; someone else's entry stays.
  await patchIps(name, { target: { secret: { name: 'sa-pull-2' } } });
  await eventually(async () => (await pullSecretsOf(target)).join() === 'someone-elses,sa-pull-2',
    { message: 'default SA lists sa-pull-2 instead of sa-pull' });
  await eventually(async () => (await readSecret(target, 'sa-pull')) === undefined, { message: 'the old Secret is deleted' });
  await patchNamespace(target, { labels: { [label]: null } });
  await eventually(async () => !(await pullSecretsOf(target)).includes('sa-pull-2'), { message: 'sa-pull-2 removed again' });
  assert.deepEqual(await pullSecretsOf(target), ['someone-elses']);
});

test("resources that share a Secret name in different namespaces never take back each other's ServiceAccount entry", async () => {
  const label = `share-${Date.now().toString(36)}`;
  await createSecret(dockerConfigSecret(sourceNs, 'shared-source', { 'shared.example': { username: 'u', password: 'SHARED-PASSWORD-1' } }));
  const serviceAccounts = { names: ['default'] };
  await ips(['shared-source'], { namespaces: { labels: [{ matchLabels: { [label]: 'a' } }] }, serviceAccounts }, 'shared-pull');
  await ips(['shared-source'], { namespaces: { labels: [{ matchLabels: { [label]: 'b' } }] }, serviceAccounts }, 'shared-pull');
  const [first, second] = [await ns(), await ns()];
  await patchNamespace(first, { labels: { [label]: 'a' } });
  await patchNamespace(second, { labels: { [label]: 'b' } });
  const both = [first, second];
  for (const target of both) await eventually(async () => (await pullSecretsOf(target)).includes('shared-pull'), { message: `${target}'s default SA lists shared-pull` });

  // Every version of both ServiceAccounts from here on. A change to one resource's Secret makes the other
  // resource, which wants a Secret of that name but not in that namespace, look at the namespace.
  const stop = new AbortController();
  const lost: string[] = [];
  const watches = both.map(async (target) => {
    const path = `/api/v1/namespaces/${target}/serviceaccounts`;
    const list = await rest.call<{ metadata: { resourceVersion: string } }>({ method: 'GET', path });
    await rest.watch({ path, query: { fieldSelector: 'metadata.name=default', resourceVersion: list.metadata.resourceVersion, timeoutSeconds: '120' } }, (e) => {
      const entries = ((e.object as ServiceAccount).imagePullSecrets ?? []).map((p) => p.name);
      if (!entries.includes('shared-pull')) lost.push(`${e.type} ${target}: [${entries.join(', ')}]`);
    }, stop.signal).catch((err: unknown) => { if (!stop.signal.aborted) lost.push(`the watch of ${target} failed: ${String(err)}`); });
  });
  try {
    const changed = dockerConfigSecret(sourceNs, 'shared-source', { 'shared.example': { username: 'u', password: 'SHARED-PASSWORD-2' } });
    await patchSecret(sourceNs, 'shared-source', { data: changed.data });
    for (const target of both) {
      await eventually(async () => {
        const secret = await readSecret(target, 'shared-pull');
        return secret !== undefined && dockerConfigOf(secret).auths['shared.example']?.password === 'SHARED-PASSWORD-2';
      }, { message: `${target}'s Secret carries the changed source` });
    }
    await quiescent(() => daemon.metrics.registry.metrics(), 'under test');
  } finally {
    stop.abort();
    await Promise.all(watches);
  }
  assert.deepEqual(lost, [], 'no version of either ServiceAccount lacks the entry');
  for (const target of both) assert.ok((await pullSecretsOf(target)).includes('shared-pull'));
});
