// The GCP provider with google-auth-library's real clients against local servers that speak Google's
// protocols: ADC through a GCE metadata server (GCE_METADATA_HOST), a generated service-account key
// whose token_uri names a local JWT-bearer token endpoint, and an external_account config (workload
// identity federation) whose token_url and service_account_impersonation_url name a local STS and IAM
// Credentials that trust the testbed's API server as OIDC issuer, with a real projected ServiceAccount
// token as subject token. The issued token then logs in to a real registry through skopeo, as a kubelet
// would with the Secret.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GcpSource } from '../../src/api/v1alpha1/types.ts';
import { GCP_SCOPE, GCP_USERNAME, GcpProvider } from '../../src/credentials/gcp.ts';
import type { SecretData } from '../../src/credentials/provider.ts';
import { createNamespace, deleteNamespace, rest, uniqueName } from '../support/cluster.ts';
import { ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE, startGcpFederation, type FakeGcpFederation } from '../support/fake-clouds/gcp-federation.ts';
import { startGcpMetadata, type FakeGcpMetadata } from '../support/fake-clouds/gcp-metadata.ts';
import { createServiceAccount, kubernetesIssuer, projectedToken, type ProjectedToken } from '../support/fake-clouds/kubernetes-oidc.ts';
import { startGcpTokenServer, type FakeGcpToken } from '../support/fake-clouds/gcp-token.ts';
import { proveRegistryLogin } from '../support/fake-clouds/registry-login.ts';
import { credentialProviderContract } from '../contract/credential-provider.ts';
import { LOCAL_OUTBOUND } from '../support/outbound.ts';

/** The local token servers, STS and IAM Credentials listen on loopback; token files are under the temporary directory. */
const LOCAL = { outbound: LOCAL_OUTBOUND };
const registries = ['europe-docker.pkg.dev', 'https://gcr.io/'];
const secretRef = { name: 'gcp-sa', namespace: 'registry-access' };
const within = (date: Date, expectedMs: number, slackMs = 60_000): boolean => Math.abs(date.getTime() - expectedMs) < slackMs;

describe('ADC through the GCE metadata server', () => {
  let metadata: FakeGcpMetadata;
  const saved = { host: process.env.GCE_METADATA_HOST, adc: process.env.GOOGLE_APPLICATION_CREDENTIALS };

  before(async () => {
    metadata = await startGcpMetadata();
    process.env.GCE_METADATA_HOST = metadata.host;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  });
  after(async () => {
    if (saved.host === undefined) delete process.env.GCE_METADATA_HOST;
    else process.env.GCE_METADATA_HOST = saved.host;
    if (saved.adc !== undefined) process.env.GOOGLE_APPLICATION_CREDENTIALS = saved.adc;
    await metadata.close();
  });

  test('a fetch gets the metadata token for every registry, with its expiry', async () => {
    const before = metadata.requests;
    const fetched = await new GcpProvider(LOCAL).fetch({ registries }, undefined);
    assert.equal(metadata.requests, before + 1);
    assert.equal(metadata.lastScopes, GCP_SCOPE);
    const token = metadata.issued.at(-1);
    assert.ok(token);
    assert.deepEqual(fetched.entries.map((e) => e.registry), ['europe-docker.pkg.dev', 'gcr.io']);
    for (const entry of fetched.entries) {
      assert.equal(entry.username, GCP_USERNAME);
      assert.equal(entry.password, token);
      assert.equal(Buffer.from(entry.auth, 'base64').toString(), `${GCP_USERNAME}:${token}`);
    }
    assert.ok(within(fetched.expiresAt, Date.now() + metadata.expiresIn * 1000), fetched.expiresAt.toISOString());
  });

  test('each fetch asks the metadata server again (no stale client cache)', async () => {
    const provider = new GcpProvider(LOCAL);
    const before = metadata.requests;
    const a = await provider.fetch({ registries }, undefined);
    const b = await provider.fetch({ registries }, undefined);
    assert.equal(metadata.requests, before + 2);
    assert.notEqual(a.entries[0]?.password, b.entries[0]?.password);
  });

  test('the metadata token logs in to a registry', async () => {
    const fetched = await new GcpProvider(LOCAL).fetch({ registries: ['europe-docker.pkg.dev'] }, undefined);
    const entry = fetched.entries[0];
    assert.ok(entry);
    const proof = await proveRegistryLogin(entry, metadata.issued);
    assert.equal(proof.withEntry.ok, true, proof.withEntry.stderr);
    assert.equal(proof.withWrongPassword.ok, false);
  });

  test('a failing metadata server rejects with a safe message', async () => {
    metadata.fail = true;
    try {
      await assert.rejects(new GcpProvider(LOCAL).fetch({ registries }, undefined), (err: Error) => {
        assert.match(err.message, /GCP access token for Application Default Credentials failed: HTTP 500/);
        return true;
      });
    } finally {
      metadata.fail = false;
    }
  });
});

describe('a service-account key against a local token endpoint', () => {
  let server: FakeGcpToken;
  before(async () => { server = await startGcpTokenServer(); });
  after(async () => { await server.close(); });

  const source: GcpSource = { registries, credentialsSecret: secretRef };

  test('the key signs a JWT-bearer grant that the endpoint verifies; the token becomes the password', async () => {
    const account = server.createServiceAccount();
    const before = server.requests;
    const fetched = await new GcpProvider(LOCAL).fetch(source, { 'credentials.json': account.json });
    assert.equal(server.requests, before + 1);
    assert.equal(server.rejected, 0);
    assert.equal(server.scopes.at(-1), GCP_SCOPE);
    assert.equal(fetched.entries.length, 2);
    assert.equal(fetched.entries[0]?.password, server.issued.at(-1));
    assert.ok(within(fetched.expiresAt, Date.now() + server.expiresIn * 1000), fetched.expiresAt.toISOString());
  });

  test('a custom key name is honoured and the token logs in to a registry', async () => {
    const account = server.createServiceAccount();
    const fetched = await new GcpProvider(LOCAL).fetch({ registries: ['gcr.io'], credentialsSecret: { ...secretRef, key: 'key.json' } },
      { 'key.json': account.json });
    const entry = fetched.entries[0];
    assert.ok(entry);
    const proof = await proveRegistryLogin(entry, server.issued);
    assert.equal(proof.withEntry.ok, true, proof.withEntry.stderr);
    assert.equal(proof.withWrongPassword.ok, false);
  });

  test('a key the endpoint does not know is refused, and the error quotes no key material', async () => {
    const real = server.createServiceAccount();
    const other = server.createServiceAccount();
    const forged = JSON.stringify({ ...JSON.parse(real.json) as object, private_key: (JSON.parse(other.json) as { private_key: string }).private_key });
    const rejectedBefore = server.rejected;
    await assert.rejects(new GcpProvider(LOCAL).fetch(source, { 'credentials.json': forged }), (err: Error) => {
      assert.match(err.message, new RegExp(`service account ${real.email} failed: HTTP 400 invalid_grant`));
      assert.doesNotMatch(err.message, /PRIVATE KEY|MII/);
      return true;
    });
    assert.ok(server.rejected > rejectedBefore);
  });

  test('a failing token endpoint rejects with the status only', async () => {
    const account = server.createServiceAccount();
    server.fail = true;
    try {
      await assert.rejects(new GcpProvider(LOCAL).fetch(source, { 'credentials.json': account.json }), /failed: HTTP 500/);
    } finally {
      server.fail = false;
    }
  });

  test('a token_uri outside Google and the daemon\'s --outbound-hosts is refused before any request', async () => {
    const account = server.createServiceAccount();
    const elsewhere = JSON.stringify({ ...JSON.parse(account.json) as object, token_uri: 'https://tokens.example.com/token' });
    const before = server.requests;
    await assert.rejects(new GcpProvider(LOCAL).fetch(source, { 'credentials.json': elsewhere }), /token_uri names a host outside oauth2\.googleapis\.com, accounts\.google\.com that --outbound-hosts does not list/);
    assert.equal(server.requests, before);
  });
});

/** The workload identity pool provider the local STS serves. */
const pool = '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/testbed/providers/kubernetes';
const secretOf = (config: Record<string, unknown>): SecretData => ({ 'credentials.json': JSON.stringify(config) });

describe('an external_account config: a projected ServiceAccount token through a local STS and IAM Credentials', () => {
  const email = 'puller@pullsecret-sync-test.iam.gserviceaccount.com';
  const namespace = uniqueName('gcp-wif');
  const source: GcpSource = { registries, credentialsSecret: secretRef };
  let federation: FakeGcpFederation;
  let dir: string;
  /** ServiceAccount `puller`'s token for the pool, granted the service account. */
  let puller: ProjectedToken;

  before(async () => {
    await createNamespace(namespace);
    await createServiceAccount(namespace, 'puller');
    await createServiceAccount(namespace, 'stranger');
    federation = await startGcpFederation({ audience: pool, trust: await kubernetesIssuer() });
    dir = mkdtempSync(join(tmpdir(), 'gcp-wif-'));
    puller = await projectedToken(namespace, 'puller', `https:${pool}`, dir, 'puller');
    federation.grant(email, puller.subject);
  });
  after(async () => {
    await federation.close();
    rmSync(dir, { recursive: true, force: true });
    await deleteNamespace(namespace);
  });

  test('STS exchanges the projected token, IAM Credentials issues the service account\'s token, which becomes the password', async () => {
    const before = { sts: federation.stsIssued.length, iam: federation.iamIssued.length };
    const fetched = await new GcpProvider(LOCAL).fetch(source, secretOf(federation.credentialConfig(puller.path, email)));
    assert.equal(federation.rejected, 0);
    assert.deepEqual(federation.lastExchange, {
      grant_type: TOKEN_EXCHANGE, audience: pool, scope: GCP_SCOPE, requested_token_type: ACCESS_TOKEN_TYPE, subject_token_type: JWT_TOKEN_TYPE,
    });
    assert.equal(federation.lastSubject, puller.subject);
    assert.deepEqual(federation.lastImpersonationScopes, [GCP_SCOPE]);
    assert.deepEqual({ sts: federation.stsIssued.length, iam: federation.iamIssued.length }, { sts: before.sts + 1, iam: before.iam + 1 });
    const token = federation.iamIssued.at(-1);
    assert.deepEqual(fetched.entries.map((e) => [e.registry, e.username, e.password]),
      [['europe-docker.pkg.dev', GCP_USERNAME, token], ['gcr.io', GCP_USERNAME, token]]);
    assert.ok(within(fetched.expiresAt, Date.now() + federation.expiresIn * 1000), fetched.expiresAt.toISOString());
  });

  test('without service_account_impersonation_url the federated token itself is the password', async () => {
    const iamBefore = federation.iamIssued.length;
    const fetched = await new GcpProvider(LOCAL).fetch(source, secretOf(federation.credentialConfig(puller.path)));
    assert.equal(federation.iamIssued.length, iamBefore, 'no impersonation');
    assert.equal(fetched.entries[0]?.password, federation.stsIssued.at(-1));
    assert.ok(within(fetched.expiresAt, Date.now() + federation.expiresIn * 1000), fetched.expiresAt.toISOString());
  });

  test('the impersonated token logs in to a registry', async () => {
    const fetched = await new GcpProvider(LOCAL).fetch({ registries: ['europe-docker.pkg.dev'], credentialsSecret: secretRef },
      secretOf(federation.credentialConfig(puller.path, email)));
    const entry = fetched.entries[0];
    assert.ok(entry);
    const proof = await proveRegistryLogin(entry, federation.iamIssued);
    assert.equal(proof.withEntry.ok, true, proof.withEntry.stderr);
    assert.equal(proof.withWrongPassword.ok, false);
  });

  test('a subject token for another audience is refused by STS; the error quotes no token', async () => {
    const wrong = await projectedToken(namespace, 'puller', 'https://example.com/not-the-pool', dir, 'wrong-audience');
    const before = { requests: federation.requests, rejected: federation.rejected };
    await assert.rejects(new GcpProvider(LOCAL).fetch(source, secretOf(federation.credentialConfig(wrong.path, email))), (err: Error) => {
      assert.equal(err.message, 'GCP access token for external account failed: HTTP 400 invalid_grant');
      return true;
    });
    assert.deepEqual({ requests: federation.requests, rejected: federation.rejected }, { requests: before.requests + 1, rejected: before.rejected + 1 },
      'one exchange, refused; no impersonation');
  });

  test('a ServiceAccount not granted the service account is refused by IAM Credentials', async () => {
    const stranger = await projectedToken(namespace, 'stranger', `https:${pool}`, dir, 'stranger');
    const before = { sts: federation.stsIssued.length, iam: federation.iamIssued.length };
    await assert.rejects(new GcpProvider(LOCAL).fetch(source, secretOf(federation.credentialConfig(stranger.path, email))),
      /^Error: GCP access token for external account failed: HTTP 403$/);
    assert.equal(federation.lastSubject, stranger.subject);
    assert.deepEqual({ sts: federation.stsIssued.length, iam: federation.iamIssued.length }, { sts: before.sts + 1, iam: before.iam });
  });

  test('endpoints outside Google and the daemon\'s --outbound-hosts are refused before any request, whatever universe the config claims', async () => {
    const config = federation.credentialConfig(puller.path, email);
    const before = federation.requests;
    for (const [fields, expected] of [
      [{ token_url: 'https://sts.example.com/v1/token' }, /token_url names a host outside sts\.googleapis\.com that --outbound-hosts does not list/],
      [{ service_account_impersonation_url: 'https://iam.example.com/v1/x:generateAccessToken' }, /service_account_impersonation_url names a host outside iamcredentials\.googleapis\.com/],
      [{ universe_domain: 'example.invalid', token_url: 'https://sts.example.invalid/v1/token' }, /universe_domain must be googleapis\.com/],
    ] as const) {
      await assert.rejects(new GcpProvider(LOCAL).fetch(source, secretOf({ ...config, ...fields })), expected, JSON.stringify(fields));
    }
    assert.equal(federation.requests, before);
  });
});

const contractServers: { close(): Promise<void> }[] = [];
const contractNamespaces: string[] = [];
const contractDirs: string[] = [];
after(async () => {
  await Promise.all(contractServers.map((s) => s.close()));
  for (const dir of contractDirs) rmSync(dir, { recursive: true, force: true });
  await Promise.all(contractNamespaces.map((ns) => deleteNamespace(ns)));
  rest.close();
});

credentialProviderContract('GCP provider with a service-account key against the local token endpoint', async () => {
  const server = await startGcpTokenServer();
  contractServers.push(server);
  const account = server.createServiceAccount();
  const other = server.createServiceAccount();
  // The account's key JSON with another account's private key: the endpoint refuses the signature.
  const forged = JSON.stringify({ ...JSON.parse(account.json) as object, private_key: (JSON.parse(other.json) as { private_key: string }).private_key });
  const provider = new GcpProvider(LOCAL);
  const source: GcpSource = { registries: ['europe-docker.pkg.dev', 'gcr.io'], credentialsSecret: secretRef };
  const privateKeys = [account.json, other.json].map((j) => (JSON.parse(j) as { private_key: string }).private_key);
  return {
    provider, source, secret: { 'credentials.json': account.json },
    failing: { provider, source, secret: { 'credentials.json': forged } },
    secretValues: [account.json, other.json, forged, ...privateKeys], placement: ['registries' as const],
  };
});

credentialProviderContract('GCP provider with an external_account config against the local STS', async () => {
  const namespace = await createNamespace(uniqueName('gcp-wif-contract'));
  contractNamespaces.push(namespace);
  await createServiceAccount(namespace, 'puller');
  const federation = await startGcpFederation({ audience: pool, trust: await kubernetesIssuer() });
  contractServers.push(federation);
  const dir = mkdtempSync(join(tmpdir(), 'gcp-wif-contract-'));
  contractDirs.push(dir);
  const good = await projectedToken(namespace, 'puller', `https:${pool}`, dir, 'good');
  // A token of the same ServiceAccount for another audience: STS refuses it.
  const wrong = await projectedToken(namespace, 'puller', 'https://example.com/not-the-pool', dir, 'wrong');
  const provider = new GcpProvider(LOCAL);
  const source: GcpSource = { registries: ['europe-docker.pkg.dev', 'gcr.io'], credentialsSecret: secretRef };
  return {
    provider, source, secret: secretOf(federation.credentialConfig(good.path)),
    failing: { provider, source, secret: secretOf(federation.credentialConfig(wrong.path)) },
    secretValues: [good.token, wrong.token], placement: ['registries' as const],
  };
});
