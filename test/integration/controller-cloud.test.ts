// Cloud tokens end to end through the daemon: ECR through moto (behind a counting proxy that
// gives tokens a real lifetime), an IMPS-format ECR Secret, GCP through a local metadata server and Azure
// through local Entra + ACR exchange; workload identity federation of both with a projected
// ServiceAccount token of the testbed (GCP: a Secret's external_account config through a local STS and
// IAM Credentials; Azure: the daemon's federated token file). Each written Secret logs in to a real
// registry with skopeo. One
// fetch per identity however many resources and namespaces use it; a failing endpoint leaves Secrets
// intact, says why, backs off and recovers. Nothing secret reaches logs, Events or status.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { currentTestbed } from '../testbed/testbed.ts';
import { adminKubeConfig } from '../testbed/clients.ts';
import {
  createIps, createNamespace, createSecret, deleteIpsAndWait, deleteNamespace, dockerConfigOf, eventsFor, readIps, readSecret,
  readyCondition, rest, uniqueName, waitForSecret,
} from '../support/cluster.ts';
import { installCrd, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { eventually } from '../support/eventually.ts';
import { startEcrProxy, type EcrProxy } from '../support/fake-clouds/ecr-proxy.ts';
import { startGcpMetadata, type FakeGcpMetadata } from '../support/fake-clouds/gcp-metadata.ts';
import { startEntra, TOKEN_EXCHANGE_AUDIENCE, type FakeEntra } from '../support/fake-clouds/entra.ts';
import { startAcrExchange, type FakeAcrExchange } from '../support/fake-clouds/acr-exchange.ts';
import { startGcpFederation, type FakeGcpFederation } from '../support/fake-clouds/gcp-federation.ts';
import { decodeJwt } from '../support/fake-clouds/jwt.ts';
import { createServiceAccount, kubernetesIssuer, projectedToken, type ProjectedToken } from '../support/fake-clouds/kubernetes-oidc.ts';
import { servingCert } from '../support/fake-clouds/server.ts';
import { proveRegistryLogin } from '../support/fake-clouds/registry-login.ts';
import { rememberSecret } from '../support/leaks.ts';
import { AzureProvider } from '../../src/credentials/index.ts';
import { OutboundPolicy } from '../../src/util/outbound.ts';
import type { AuthEntry } from '../../src/dockerconfig/index.ts';
import type { ImagePullSecretSpec } from '../../src/api/v1alpha1/types.ts';

const moto = currentTestbed().moto?.endpoint ?? assert.fail('the testbed runs moto');
const REGION = 'eu-central-1';
const ACCOUNT = '123456789012';
const ECR_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const KEYS = { accessKeyID: 'AKIAIOSFODNN7EXAMPLE', secretKey: `wJalrXUtnFEMI/K7MDENG/${randomUUID()}` };
const clientSecret = `sp-secret-${randomUUID()}`;
const clientID = randomUUID();
/** The Entra app that trusts the `puller` ServiceAccount of the source namespace (workload identity). */
const federatedClientID = randomUUID();
const GCP_POOL = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/testbed/providers/kubernetes';
const GCP_SERVICE_ACCOUNT = 'puller@pullsecret-sync-test.iam.gserviceaccount.com';

let daemon: TestDaemon;
let proxy: EcrProxy;
let metadata: FakeGcpMetadata;
let entra: FakeEntra;
let acr: FakeAcrExchange;
let federation: FakeGcpFederation;
let tokenDir: string;
/** Projected tokens of ServiceAccount `puller`: for the GCP pool, and for Entra. */
const projected: { gcp?: ProjectedToken; azure?: ProjectedToken } = {};
const sourceNs = uniqueName('cloud-src');
const namespaces: string[] = [sourceNs];
const resources: string[] = [];
/** Every secret value this file hands out or receives, searched for in logs, Events and status at the end. */
const secrets = new Set<string>([rememberSecret(KEYS.secretKey), rememberSecret(clientSecret)]);
/** The daemon's own AWS identity for sources without a Secret: environment keys, and never IMDS. */
const ambient = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7AMBIENT', AWS_SECRET_ACCESS_KEY: `ambient-${randomUUID()}`, AWS_EC2_METADATA_DISABLED: 'true' };
secrets.add(rememberSecret(ambient.AWS_SECRET_ACCESS_KEY));
const saved = { gce: process.env.GCE_METADATA_HOST, ecr: process.env.AWS_ENDPOINT_URL_ECR };

before(async () => {
  await installCrd(adminKubeConfig());
  proxy = await startEcrProxy(moto);
  metadata = await startGcpMetadata();
  process.env.GCE_METADATA_HOST = metadata.host;
  process.env.AWS_ENDPOINT_URL_ECR = proxy.url; // for the IMPS-format Secret, which has no endpoint field
  Object.assign(process.env, ambient);
  const tls = await servingCert('fake-azure-daemon');
  entra = await startEntra({ tls, clients: { [clientID]: clientSecret } });
  acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
  await createNamespace(sourceNs);
  await createServiceAccount(sourceNs, 'puller');
  tokenDir = mkdtempSync(join(tmpdir(), 'cloud-federation-'));
  const trust = await kubernetesIssuer();
  federation = await startGcpFederation({ audience: GCP_POOL, trust });
  projected.gcp = await projectedToken(sourceNs, 'puller', `https:${GCP_POOL}`, tokenDir, 'gcp');
  federation.grant(GCP_SERVICE_ACCOUNT, projected.gcp.subject);
  projected.azure = await projectedToken(sourceNs, 'puller', TOKEN_EXCHANGE_AUDIENCE, tokenDir, 'azure');
  entra.addFederatedCredential(federatedClientID, { trust, subject: projected.azure.subject });
  for (const token of [projected.gcp.token, projected.azure.token]) secrets.add(rememberSecret(token));
  daemon = await startTestDaemon([], {
    providers: { azure: new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: new OutboundPolicy({ hosts: ['127.0.0.1'] }), federatedTokenFile: projected.azure.path }) },
    tokenCache: { floorMs: 1000, backoff: { baseMs: 500, capMs: 4000 } },
  });
  await createSecret({ metadata: { name: 'aws-keys', namespace: sourceNs }, type: 'Opaque',
    stringData: { accessKeyID: KEYS.accessKeyID, secretKey: KEYS.secretKey } } as never);
  await createSecret({ metadata: { name: 'imps-ecr', namespace: sourceNs }, type: 'banzaicloud.io/aws-ecr-login-config',
    stringData: { ...KEYS, region: REGION, accountID: ACCOUNT } } as never);
  await createSecret({ metadata: { name: 'acr-sp', namespace: sourceNs }, type: 'Opaque', stringData: { clientSecret } } as never);
  await createSecret({ metadata: { name: 'gcp-federation', namespace: sourceNs }, type: 'Opaque',
    stringData: { 'credentials.json': JSON.stringify(federation.credentialConfig(projected.gcp.path, GCP_SERVICE_ACCOUNT)) } } as never);
});

after(async () => {
  await deleteIpsAndWait(resources, 30_000);
  await daemon.stop();
  for (const ns of namespaces) await deleteNamespace(ns);
  await Promise.all([proxy.close(), metadata.close(), acr.close(), entra.close(), federation.close()]);
  rmSync(tokenDir, { recursive: true, force: true });
  if (saved.gce === undefined) delete process.env.GCE_METADATA_HOST;
  else process.env.GCE_METADATA_HOST = saved.gce;
  for (const key of Object.keys(ambient)) Reflect.deleteProperty(process.env, key);
  if (saved.ecr === undefined) delete process.env.AWS_ENDPOINT_URL_ECR;
  else process.env.AWS_ENDPOINT_URL_ECR = saved.ecr;
  rest.close();
});

async function ns(labels: Record<string, string> = {}): Promise<string> {
  const name = uniqueName('ns');
  namespaces.push(name);
  return createNamespace(name, labels);
}

async function ips(registry: ImagePullSecretSpec['registry'], target: string[] | Record<string, string>, secret = 'cloud-pull'): Promise<string> {
  const name = uniqueName('ips');
  resources.push(name);
  const namespaces = Array.isArray(target) ? { names: target } : { labels: [{ matchLabels: target }] };
  await createIps(name, { registry, target: { namespaces, secret: { name: secret } } });
  return name;
}

async function entryOf(namespace: string, registry: string, secret = 'cloud-pull'): Promise<AuthEntry> {
  const s = await waitForSecret(namespace, secret, 15_000);
  const auth = dockerConfigOf(s).auths[registry];
  assert.ok(auth, `the Secret in ${namespace} has ${registry}`);
  if (auth.password) secrets.add(rememberSecret(auth.password));
  return { registry, ...auth };
}

/** The entry logs in where the registry knows only the tokens `issued` handed out; a stale one is refused. */
async function assertLogsIn(entry: AuthEntry, issued: readonly string[]): Promise<void> {
  const proof = await proveRegistryLogin(entry, issued);
  assert.ok(proof.withEntry.ok, proof.withEntry.stderr);
  assert.equal(proof.withWrongPassword.ok, false, 'the registry refuses a stale or wrong token');
}

/** The password of the token moto issues for the test's keys (moto's tokens depend on the keys alone). */
async function motoPassword(): Promise<string> {
  const direct = await new ECRClient({ region: REGION, endpoint: moto,
    credentials: { accessKeyId: KEYS.accessKeyID, secretAccessKey: KEYS.secretKey } }).send(new GetAuthorizationTokenCommand({}));
  return Buffer.from(direct.authorizationData?.[0]?.authorizationToken ?? '', 'base64').toString().replace(/^AWS:/, '');
}

test('ECR with keys from a Secret: the written Secret carries moto\'s token for AWS and logs in to a registry', async () => {
  const target = await ns();
  const name = await ips({ ecr: [{ region: REGION, accountIDs: [ACCOUNT], endpoint: proxy.url, credentialsSecret: { name: 'aws-keys', namespace: sourceNs } }] }, [target]);
  const entry = await entryOf(target, ECR_HOST);
  assert.equal(entry.username, 'AWS');
  const password = await motoPassword();
  assert.equal(entry.password, password, 'the password is the one moto issues');
  await assertLogsIn(entry, [password]);
  const expiresAt = await eventually(async () => (await readIps(name))?.status?.sources?.[0]?.expiresAt);
  const metrics = await (await fetch(`http://127.0.0.1:${String(daemon.metricsPort)}/metrics`)).text();
  const series = `pullsecret_sync_token_expiry_timestamp_seconds{imagepullsecret="${name}",source="ECR ${REGION} ${ACCOUNT}",kind="ECR"}`;
  assert.ok(metrics.includes(`${series} ${String(Date.parse(expiresAt) / 1000)}`), `${series} is the expiry in status`);
  assert.match(metrics, /pullsecret_sync_token_fetches_total\{provider="ECR",result="success"\} [1-9]/);
  assert.equal((await readIps(name))?.status?.expiresAt, expiresAt, 'status.expiresAt is the earliest source expiry');
  assert.equal(await printedColumn(name, 'Expires'), expiresAt, 'kubectl get ips shows the expiry as a timestamp');
});

/** What `kubectl get ips` prints in `column` for resource `name` (the API server's Table). */
async function printedColumn(name: string, column: string): Promise<unknown> {
  const table = await rest.call<{ columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }>({ method: 'GET',
    path: `/apis/pullsecret-sync.dev/v1alpha1/imagepullsecrets/${name}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  return table.rows[0]?.cells[table.columnDefinitions.findIndex((c) => c.name === column)];
}

test('ECR from an IMPS-format login Secret listed under credentials', async () => {
  const target = await ns();
  const name = await ips({ credentials: [{ name: 'imps-ecr', namespace: sourceNs }] }, [target]);
  const entry = await entryOf(target, ECR_HOST);
  await assertLogsIn(entry, [await motoPassword()]);
  const source = await eventually(async () => {
    const first = (await readIps(name))?.status?.sources?.[0];
    return first?.expiresAt ? first : undefined;
  }, { message: 'status shows the token expiry' });
  assert.equal(source.kind, 'ECR');
  assert.ok(source.lastRefreshTime);
});

test('GCP through the metadata server (ADC) and Azure through Entra and the ACR exchange', async () => {
  const target = await ns();
  await ips({ gcp: [{ registries: ['europe-docker.pkg.dev'] }] }, [target], 'gcp-pull');
  const gcp = await entryOf(target, 'europe-docker.pkg.dev', 'gcp-pull');
  assert.equal(gcp.username, 'oauth2accesstoken');
  await assertLogsIn(gcp, metadata.issued);
  await ips({ azure: [{ registry: acr.host, tenantID: entra.tenantID, clientID, credentialsSecret: { name: 'acr-sp', namespace: sourceNs } }] },
    [target], 'acr-pull');
  const azure = await entryOf(target, acr.host, 'acr-pull');
  assert.equal(azure.username, '00000000-0000-0000-0000-000000000000');
  await assertLogsIn(azure, acr.issued);
});

test('workload identity federation: GCP from a Secret\'s external_account config, Azure from the daemon\'s token file', async () => {
  const target = await ns();
  await ips({ gcp: [{ registries: ['europe-docker.pkg.dev'], credentialsSecret: { name: 'gcp-federation', namespace: sourceNs } }] }, [target], 'gcp-wif-pull');
  const gcp = await entryOf(target, 'europe-docker.pkg.dev', 'gcp-wif-pull');
  assert.equal(gcp.username, 'oauth2accesstoken');
  assert.ok(federation.iamIssued.includes(gcp.password ?? ''), 'the password is a token IAM Credentials issued for the service account');
  assert.equal(federation.lastSubject, projected.gcp?.subject, 'STS saw the ServiceAccount\'s projected token');
  await assertLogsIn(gcp, federation.iamIssued);
  await ips({ azure: [{ registry: acr.host, tenantID: entra.tenantID, clientID: federatedClientID }] }, [target], 'acr-wi-pull');
  const azure = await entryOf(target, acr.host, 'acr-wi-pull');
  assert.equal(azure.username, '00000000-0000-0000-0000-000000000000');
  assert.ok(acr.issued.includes(azure.password ?? ''), 'the password is a refresh token the ACR exchange issued');
  assert.equal(decodeJwt(azure.password ?? '')?.claims.sub, federatedClientID, 'for the app that trusts the ServiceAccount');
});

test('twenty resources over two hundred namespaces sharing one ECR identity, with different accounts, cause one token fetch', { timeout: 180_000 }, async () => {
  const label = `shared-${Date.now().toString(36)}`;
  const shared = await startEcrProxy(moto);
  try {
    for (let i = 0; i < 20; i++) {
      // Half of them name a second account: where a token is written is no part of its identity.
      const accountIDs = i % 2 ? [ACCOUNT, '210987654321'] : [ACCOUNT];
      await ips({ ecr: [{ region: REGION, accountIDs, endpoint: shared.url }] }, { [label]: String(i % 20) }, 'shared-pull');
    }
    const created: string[] = [];
    for (let i = 0; i < 200; i++) created.push(await ns({ [label]: String(i % 20) }));
    await eventually(async () => {
      const list = await rest.call<{ items: unknown[] }>({ method: 'GET',
        path: `/api/v1/secrets?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=pullsecret-sync')}&fieldSelector=metadata.name%3Dshared-pull` });
      return list.items.length === 200;
    }, { timeoutMs: 90_000, message: '200 Secrets written' });
    assert.equal(shared.requests, 1, 'one GetAuthorizationToken for the identity');
  } finally {
    await shared.close();
  }
});

test('a failing token endpoint leaves Secrets intact, reports why, backs off, and recovers on its own', { timeout: 120_000 }, async () => {
  const flaky = await startEcrProxy(moto, 4); // tokens live 4 s: refreshed after ~2 s
  try {
    const target = await ns();
    const name = await ips({ ecr: [{ region: REGION, accountIDs: [ACCOUNT], endpoint: flaky.url }] }, [target], 'flaky-pull');
    const written = await waitForSecret(target, 'flaky-pull', 15_000);
    await eventually(async () => (await readyCondition(name))?.reason === 'Synced');
    flaky.fail = true;
    const ready = await eventually(async () => {
      const c = await readyCondition(name);
      return c?.reason === 'SourceError' && c;
    }, { timeoutMs: 20_000, message: 'Ready=False SourceError' });
    assert.match(ready.message, /ECR eu-central-1/);
    await eventually(async () => (await eventsFor(name)).some((e) => e.type === 'Warning' && e.reason === 'SourceError'), { message: 'a Warning Event' });
    // The schedule itself: the gap before fetch n+1 is the token cache's backoff for n failures
    // (500 ms doubling to the 4 s cap, ±10 % jitter), never shorter; at most the resource's 1 s requeue
    // floor and some reconcile latency longer.
    await eventually(() => flaky.refusedAt.length >= 5, { timeoutMs: 30_000, message: 'five refused fetches' });
    const gaps = flaky.refusedAt.slice(0, 5).map((t, i, all) => t - (all[i - 1] ?? t)).slice(1);
    gaps.forEach((gap, i) => {
      const backoff = Math.min(4000, 500 * 2 ** i);
      assert.ok(gap >= 0.9 * backoff && gap <= 1.1 * backoff + 1500, `gap ${String(i + 1)} is ${String(gap)} ms for a ${String(backoff)} ms backoff: ${JSON.stringify(gaps)}`);
    });
    assert.equal((await readSecret(target, 'flaky-pull'))?.metadata.uid, written.metadata.uid, 'the Secret is still there');
    flaky.fail = false;
    await eventually(async () => (await readyCondition(name))?.reason === 'Synced', { timeoutMs: 30_000, message: 'recovers' });
  } finally {
    await flaky.close();
  }
});

test('no secret value appears in logs, Events or status', async () => {
  for (const token of [...metadata.issued, ...acr.issued, ...federation.stsIssued, ...federation.iamIssued]) secrets.add(token);
  const events = (await rest.call<{ items: unknown[] }>({ method: 'GET', path: '/apis/events.k8s.io/v1/events' })).items;
  const statuses = await Promise.all(resources.map(async (r) => (await readIps(r))?.status));
  const haystacks = { logs: daemon.logs.join(''), events: JSON.stringify(events), status: JSON.stringify(statuses) };
  assert.ok(secrets.size >= 5, `collected ${String(secrets.size)} secret values`);
  for (const value of secrets) {
    for (const [where, text] of Object.entries(haystacks)) {
      assert.ok(!text.includes(value), `a secret value (${String(value.length)} chars) appears in ${where}`);
      assert.ok(!text.includes(Buffer.from(value).toString('base64')), `a base64 secret value appears in ${where}`);
    }
  }
});
