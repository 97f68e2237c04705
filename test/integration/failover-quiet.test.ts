// A restart with nothing changed in the world writes nothing: no Secret, no status, no Event. Two resources
// contend for one Secret name (the older owns it, the younger reports a Conflict) and a third has cloud
// sources (ECR on moto, GCP and Azure through local token endpoints). Writes are counted at the API server: a watch
// from the test on the managed Secrets and on the resources, from before the restart until the restarted
// daemon is idle, must see no event at all, and no Event about the resources may be added.
//
// Reproduction before the fix (60f1225, 2026-12-06): every restart changed the status of every resource
// (Synced -> Progressing -> Synced, with two Events), the cloud resource's Secrets were rewritten with
// fresh token bytes, and the younger resource could briefly overwrite the older one's Secret.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { API_VERSION, PLURAL } from '../../src/api/v1alpha1/types.ts';
import { KubeRest } from '../../src/kube/rest.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import { currentTestbed } from '../testbed/testbed.ts';
import { createIps, createNamespace, createSecret, dockerConfigSecret, eventsFor, readyCondition, rest, uniqueName } from '../support/cluster.ts';
import { installCrd } from '../support/daemon.ts';
import { quiescent, scrape, spawnDaemon, type DaemonProcess } from '../support/daemon-process.ts';
import { cleanUp, ownedSecrets } from '../support/end-state.ts';
import { eventually } from '../support/eventually.ts';
import { startGcpTokenServer, type FakeGcpToken } from '../support/fake-clouds/gcp-token.ts';
import { startAcrExchange, type FakeAcrExchange } from '../support/fake-clouds/acr-exchange.ts';
import { startEntra, type FakeEntra } from '../support/fake-clouds/entra.ts';
import { startImds, type FakeImds } from '../support/fake-clouds/imds.ts';
import { servingCert } from '../support/fake-clouds/server.ts';
import { setEnv } from '../support/env.ts';
import { rememberSecret } from '../support/leaks.ts';

const REGISTRY = 'registry.quiet.test';
/** moto and the GCP token endpoint listen on loopback. */
const LOCAL = ['--leader-elect=false', '--outbound-hosts=127.0.0.1'];
const namespaces: string[] = [];
const resources: string[] = [];
const running: DaemonProcess[] = [];
const moto = currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto');
let gcp: FakeGcpToken | undefined;
/** Azure through the daemon's managed identity: IMDS, then Entra, then the ACR exchange, all local. */
let azure: { entra: FakeEntra; imds: FakeImds; acr: FakeAcrExchange } | undefined;

before(async () => {
  await installCrd(adminKubeConfig());
  gcp = await startGcpTokenServer();
  const tls = await servingCert('fake-azure-quiet');
  const entra = await startEntra({ tls });
  azure = { entra, imds: await startImds({ entra, systemAssigned: randomUUID() }), acr: await startAcrExchange({ tls, verify: (t) => entra.verify(t) }) };
});

after(async () => {
  await cleanUp({ running, resources, namespaces });
  await Promise.all([gcp?.close(), azure?.acr.close(), azure?.imds.close(), azure?.entra.close()]);
});

/** The daemon as a process whose managed identity is the local IMDS, trusting the fakes' CA. */
async function spawnLocal(name: string): Promise<DaemonProcess> {
  const restore = setEnv({ AZURE_POD_IDENTITY_AUTHORITY_HOST: azure?.imds.url, NODE_EXTRA_CA_CERTS: currentTestbed().pki.ca.cert,
    IDENTITY_ENDPOINT: undefined, IDENTITY_HEADER: undefined, IMDS_ENDPOINT: undefined, MSI_ENDPOINT: undefined,
    AZURE_CLIENT_ID: undefined, AZURE_TENANT_ID: undefined, AZURE_FEDERATED_TOKEN_FILE: undefined });
  try {
    return await spawnDaemon(name, LOCAL);
  } finally {
    restore();
  }
}

async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = uniqueName('fq');
  namespaces.push(ns);
  return createNamespace(ns, labels);
}

/** Every change the API server makes to the objects at `path` from `resourceVersion` on, until stopped. */
function recordChanges(client: KubeRest, path: string, query: Record<string, string>, resourceVersion: string, stop: AbortSignal): string[] {
  const seen: string[] = [];
  void client.watch({ path, query: { ...query, resourceVersion, allowWatchBookmarks: 'false', timeoutSeconds: '300' } }, (e) => {
    const o = e.object as { metadata?: { namespace?: string; name?: string; resourceVersion?: string } };
    seen.push(`${e.type} ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''} rv=${o.metadata?.resourceVersion ?? ''}`);
  }, stop).catch((err: unknown) => { seen.push(`watch failed: ${String(err)}`); });
  return seen;
}

const listRv = async (path: string) => (await rest.call<{ metadata: { resourceVersion: string } }>({ method: 'GET', path, query: { limit: 1 } })).metadata.resourceVersion;

test('a restart with nothing changed writes no Secret, no status and no Event, with cloud sources and two contending resources', { timeout: 240_000 }, async () => {
  const label = `fq-${Date.now().toString(36)}`;
  const sourceNs = await namespace();
  await createSecret(dockerConfigSecret(sourceNs, 'elder', { [REGISTRY]: { username: 'elder', password: 'p4ss-0ld' } }));
  await createSecret(dockerConfigSecret(sourceNs, 'younger', { [REGISTRY]: { username: 'younger', password: 'p4ss-n3w' } }));
  await createSecret({ metadata: { name: 'aws-keys', namespace: sourceNs }, type: 'Opaque',
    stringData: { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: rememberSecret(`fq-key-${Date.now()}`) } } as never);
  await createSecret({ metadata: { name: 'gcp-sa', namespace: sourceNs }, type: 'Opaque',
    stringData: { 'credentials.json': (gcp ?? assert.fail('no GCP endpoint')).createServiceAccount().json } } as never);
  const targets = [await namespace({ [label]: 'yes' }), await namespace({ [label]: 'yes' }), await namespace({ [label]: 'yes' })];
  const selector = { namespaces: { labels: [{ matchLabels: { [label]: 'yes' } }] } };
  const elder = uniqueName('fq-elder');
  const younger = uniqueName('fq-younger');
  const cloud = uniqueName('fq-cloud');
  resources.push(elder, younger, cloud);
  await createIps(elder, { registry: { credentials: [{ name: 'elder', namespace: sourceNs }] }, target: { ...selector, secret: { name: 'pull' } } });
  // creationTimestamp has a one-second resolution: the younger must be younger by it.
  await eventually(async () => (await rest.call<{ metadata: { creationTimestamp: string } }>({ method: 'GET', path: `/apis/${API_VERSION}/${PLURAL}/${elder}` }))
    .metadata.creationTimestamp < new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z'), { message: 'a second passed' });
  await createIps(younger, { registry: { credentials: [{ name: 'younger', namespace: sourceNs }] }, target: { ...selector, secret: { name: 'pull' } } });
  await createIps(cloud, { registry: {
    ecr: [{ region: 'eu-central-1', accountIDs: ['123456789012'], endpoint: moto, credentialsSecret: { name: 'aws-keys', namespace: sourceNs } }],
    gcp: [{ registries: ['europe-docker.pkg.dev'], credentialsSecret: { name: 'gcp-sa', namespace: sourceNs } }],
    azure: [{ registry: (azure ?? assert.fail('no Azure endpoints')).acr.host }],
  }, target: { ...selector, secret: { name: 'cloud-pull' } } });

  const first = await spawnLocal(uniqueName('fq-1'));
  running.push(first);
  const verdicts = async () => (await Promise.all([elder, younger, cloud].map(async (n) => (await readyCondition(n))?.reason))).join(',');
  await eventually(async () => (await verdicts()) === 'Synced,Conflict,Synced', { timeoutMs: 60_000,
    message: 'elder and cloud Synced, younger in Conflict' }).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}; verdicts ${await verdicts()}; cloud: ${(await readyCondition(cloud))?.message ?? ''}`);
  });
  await quiescent(() => scrape(first), first.name);
  assert.deepEqual([...(await ownedSecrets(elder)).keys()].sort(), [...targets].sort());
  assert.equal((await ownedSecrets(younger)).size, 0);
  assert.deepEqual([...(await ownedSecrets(cloud)).keys()].sort(), [...targets].sort());
  const events = new Map(await Promise.all([elder, younger, cloud].map(async (n) => [n, (await eventsFor(n)).length] as const)));
  const fetchesBefore = (gcp?.requests ?? 0) + (azure?.acr.requests ?? 0);
  assert.ok((azure?.acr.issued.length ?? 0) > 0, 'the Azure source got its token from the local ACR exchange');

  const watcher = new KubeRest(adminKubeConfig(), { qps: 0 });
  const stop = new AbortController();
  try {
    const secretsPath = '/api/v1/secrets';
    const managed = { labelSelector: 'app.kubernetes.io/managed-by=pullsecret-sync' };
    const secretChanges = recordChanges(watcher, secretsPath, managed, await listRv(secretsPath), stop.signal);
    const ipsPath = `/apis/${API_VERSION}/${PLURAL}`;
    const ipsChanges = recordChanges(watcher, ipsPath, {}, await listRv(ipsPath), stop.signal);

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    running.splice(running.indexOf(first), 1);
    const second = await spawnLocal(uniqueName('fq-2'));
    running.push(second);
    await quiescent(() => scrape(second), second.name);
    const text = await scrape(second);
    const writes = text.split('\n').filter((l) => l.startsWith('pullsecret_sync_api_writes_total{') && !l.endsWith(' 0'));
    const mine = (c: string) => [elder, younger, cloud].some((n) => c.includes(`/${n} `));
    assert.deepEqual(secretChanges.filter((c) => !c.startsWith('watch failed')), [], 'no managed Secret changed');
    assert.deepEqual(ipsChanges.filter(mine), [], 'no resource (status or otherwise) changed');
    for (const [n, count] of events) assert.equal((await eventsFor(n)).length, count, `no new Event about ${n}`);
    assert.deepEqual(writes, [], 'the restarted daemon made no write at all');
    console.error(`[failover-quiet] restart: 0 Secret, status and Event writes; GCP and Azure token requests on restart: ${String((gcp?.requests ?? 0) + (azure?.acr.requests ?? 0) - fetchesBefore)}`);
  } finally {
    stop.abort();
    watcher.close();
  }
});
