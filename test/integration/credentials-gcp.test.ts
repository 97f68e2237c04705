// The GCP provider with google-auth-library's real clients against local servers that speak Google's
// protocols: ADC through a GCE metadata server (GCE_METADATA_HOST), and a generated service-account key
// whose token_uri names a local JWT-bearer token endpoint. The issued token then logs in to a real
// registry through skopeo, as a kubelet would with the Secret.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GcpSource } from '../../src/api/v1alpha1/types.ts';
import { GCP_SCOPE, GCP_USERNAME, GcpProvider } from '../../src/credentials/gcp.ts';
import { startGcpMetadata, type FakeGcpMetadata } from '../support/fake-clouds/gcp-metadata.ts';
import { startGcpTokenServer, type FakeGcpToken } from '../support/fake-clouds/gcp-token.ts';
import { proveRegistryLogin } from '../support/fake-clouds/registry-login.ts';
import { credentialProviderContract } from '../contract/credential-provider.ts';

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
    const fetched = await new GcpProvider().fetch({ registries }, undefined);
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
    const provider = new GcpProvider();
    const before = metadata.requests;
    const a = await provider.fetch({ registries }, undefined);
    const b = await provider.fetch({ registries }, undefined);
    assert.equal(metadata.requests, before + 2);
    assert.notEqual(a.entries[0]?.password, b.entries[0]?.password);
  });

  test('the metadata token logs in to a registry', async () => {
    const fetched = await new GcpProvider().fetch({ registries: ['europe-docker.pkg.dev'] }, undefined);
    const entry = fetched.entries[0];
    assert.ok(entry);
    const proof = await proveRegistryLogin(entry, metadata.issued);
    assert.equal(proof.withEntry.ok, true, proof.withEntry.stderr);
    assert.equal(proof.withWrongPassword.ok, false);
  });

  test('a failing metadata server rejects with a safe message', async () => {
    metadata.fail = true;
    try {
      await assert.rejects(new GcpProvider().fetch({ registries }, undefined), (err: Error) => {
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
    const fetched = await new GcpProvider().fetch(source, { 'credentials.json': account.json });
    assert.equal(server.requests, before + 1);
    assert.equal(server.rejected, 0);
    assert.equal(server.scopes.at(-1), GCP_SCOPE);
    assert.equal(fetched.entries.length, 2);
    assert.equal(fetched.entries[0]?.password, server.issued.at(-1));
    assert.ok(within(fetched.expiresAt, Date.now() + server.expiresIn * 1000), fetched.expiresAt.toISOString());
  });

  test('a custom key name is honoured and the token logs in to a registry', async () => {
    const account = server.createServiceAccount();
    const fetched = await new GcpProvider().fetch({ registries: ['gcr.io'], credentialsSecret: { ...secretRef, key: 'key.json' } },
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
    await assert.rejects(new GcpProvider().fetch(source, { 'credentials.json': forged }), (err: Error) => {
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
      await assert.rejects(new GcpProvider().fetch(source, { 'credentials.json': account.json }), /failed: HTTP 500/);
    } finally {
      server.fail = false;
    }
  });

  test('a token_uri outside Google and loopback is refused before any request', async () => {
    const account = server.createServiceAccount();
    const elsewhere = JSON.stringify({ ...JSON.parse(account.json) as object, token_uri: 'https://tokens.example.com/token' });
    const before = server.requests;
    await assert.rejects(new GcpProvider().fetch(source, { 'credentials.json': elsewhere }), /token_uri must be an https URL under googleapis.com/);
    assert.equal(server.requests, before);
  });
});

const contractServers: FakeGcpToken[] = [];
after(async () => { await Promise.all(contractServers.map((s) => s.close())); });

credentialProviderContract('GCP provider with a service-account key against the local token endpoint', async () => {
  const server = await startGcpTokenServer();
  contractServers.push(server);
  const account = server.createServiceAccount();
  const other = server.createServiceAccount();
  // The account's key JSON with another account's private key: the endpoint refuses the signature.
  const forged = JSON.stringify({ ...JSON.parse(account.json) as object, private_key: (JSON.parse(other.json) as { private_key: string }).private_key });
  const provider = new GcpProvider();
  const source: GcpSource = { registries: ['europe-docker.pkg.dev', 'gcr.io'], credentialsSecret: secretRef };
  const privateKeys = [account.json, other.json].map((j) => (JSON.parse(j) as { private_key: string }).private_key);
  return {
    provider, source, secret: { 'credentials.json': account.json },
    failing: { provider, source, secret: { 'credentials.json': forged } },
    secretValues: [account.json, other.json, forged, ...privateKeys], placement: ['registries' as const],
  };
});
