// Inputs that can never be written are refused up front, once, on their own resource: merged credentials
// larger than a Secret may hold, and registry keys longer than any image name. Neither is attempted
// against the API server, and the resource's status is written (never stuck Unknown) and stays small.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigOf, eventsFor, patchSecret, readIps, readSecret,
  readyCondition, rest, uniqueName, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { metricValue } from '../support/daemon-process.ts';
import { eventually } from '../support/eventually.ts';
import type { Secret } from '../../src/kube/objects.ts';

let daemon: TestDaemon;
const namespaces: string[] = [];
const resources: string[] = [];
const sourceNs = uniqueName('source');

/** A dockerconfigjson source written as people write them: username and password, no `auth`. */
function loginSecret(name: string, auths: Record<string, { username: string; password: string }>): Secret {
  return { metadata: { name, namespace: sourceNs }, type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })).toString('base64') } };
}

before(async () => {
  await installCrd(adminKubeConfig());
  daemon = await startTestDaemon();
  await createNamespace(sourceNs);
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

async function ips(sources: string[], target: string, secret = 'pull'): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  await createIps(name, { registry: { credentials: sources.map((s) => ({ name: s, namespace: sourceNs })) },
    target: { namespaces: { names: [target] }, secret: { name: secret } } });
  return name;
}

const waitForReason = (name: string, reason: string) => eventually(async () => {
  const c = await readyCondition(name);
  return c?.reason === reason && c;
}, { timeoutMs: 15_000, message: `${name} Ready reason ${reason}` });

/** Secret writes the API server refused, and failed reconciles, so far. */
async function refusals(): Promise<number> {
  const text = await daemon.metrics.registry.metrics();
  const refused = ['create', 'update'].map((verb) => metricValue(text, 'pullsecret_sync_api_writes_total', `verb="${verb}",resource="secrets",code="4xx"`) ?? 0);
  const failed = metricValue(text, 'pullsecret_sync_reconcile_errors_total', 'controller="target"') ?? 0;
  return refused.reduce((a, b) => a + b, 0) + failed;
}

test('sources whose merge exceeds the Secret size limit give one TooLarge condition and no write attempt', async () => {
  const target = await ns();
  const big = (tag: string) => ({ username: 'u', password: `${tag}-${'p'.repeat(700 * 1024)}` });
  await createSecret(loginSecret('big-a', { 'a.example': big('a') }));
  await createSecret(loginSecret('big-b', { 'b.example': big('b') }));
  const before = await refusals();
  const name = await ips(['big-a', 'big-b'], target);
  const ready = await waitForReason(name, 'TooLarge');
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /^The merged credentials are \d{7} bytes; a Secret holds at most 1048576 bytes \(1 MiB\)/);
  await eventually(async () => (await eventsFor(name)).some((e) => e.type === 'Warning' && e.reason === 'TooLarge'),
    { message: 'one TooLarge Warning event' });
  // A later resource in the same namespace converges: the work queue went on past the big one.
  await createSecret(loginSecret('small', { 'small.example': { username: 'u', password: 'SMALL-PASSWORD-1' } }));
  const small = await ips(['small'], target, 'small-pull');
  await waitForSecret(target, 'small-pull');
  await waitForReason(small, 'Synced');
  assert.equal(await readSecret(target, 'pull'), undefined, 'nothing was written for the oversized resource');
  assert.equal(await refusals(), before, 'no write was refused and no reconcile failed: none was attempted');
  assert.equal((await readyCondition(name))?.reason, 'TooLarge');
  assert.equal((await eventsFor(name)).filter((e) => e.reason === 'TooLarge').length, 1);
  // A source that grows past the limit later: its namespaces keep the last Secret that fit.
  const kept = await readSecret(target, 'small-pull');
  await patchSecret(sourceNs, 'small', { data: loginSecret('small', { 'small.example': big('c') }).data });
  await waitForReason(small, 'TooLarge');
  assert.deepEqual((await readSecret(target, 'small-pull'))?.data, kept?.data);
  assert.equal(await refusals(), before);
});

test('registry keys longer than any image name are refused by length; the status is written and stays small', async () => {
  const target = await ns();
  // 40 keys of 20,000 characters in each of two sources: accepted, they would list 1.6 MB in status.
  const longKeys = (tag: string) => Object.fromEntries(Array.from({ length: 40 }, (_, i) =>
    [`${tag}${String(i)}.example/${'k'.repeat(20_000)}`, { username: 'u', password: `LONG-KEY-PASSWORD-${String(i)}` }]));
  await createSecret(loginSecret('long-a', { ...longKeys('a'), 'good.example': { username: 'u', password: 'GOOD-PASSWORD-2' } }));
  await createSecret(loginSecret('long-b', longKeys('b')));
  const name = await ips(['long-a', 'long-b'], target);
  const ready = await eventually(async () => {
    const c = await readyCondition(name);
    return c?.reason === 'SourceError' && c.message.includes('long-a') && c;
  }, { message: 'SourceError naming both sources' });
  assert.equal(ready.status, 'False');
  assert.match(ready.message, /long-a: auths key #1 is 20011 characters long; a registry key has at most 255 \(the longest image name\)/);
  assert.doesNotMatch(ready.message, /kkkkkkkkkk/, 'the key itself is never quoted');
  // The usable entry is still written; the long keys are not.
  const secret = await waitForSecret(target, 'pull');
  assert.deepEqual(Object.keys(dockerConfigOf(secret).auths), ['good.example']);
  const status = (await readIps(name))?.status;
  assert.ok(Buffer.byteLength(JSON.stringify(status)) < 16 * 1024, 'the status lists no long key');
  assert.deepEqual(status?.sources?.map((s) => s.registries), [['good.example'], []]);
});
