// The Azure provider with @azure/identity's real ClientSecretCredential (MSAL) against a local HTTPS
// Entra ID, then the ACR token exchange against a local HTTPS `/oauth2/exchange` that accepts only tokens
// that Entra issued. Both use certificates from the testbed CA, trusted through the provider's `ca`
// option. The refresh token then logs in to a real registry through skopeo.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { AzureSource } from '../../src/api/v1alpha1/types.ts';
import { ACR_USERNAME, ARM_SCOPE, AzureProvider } from '../../src/credentials/azure.ts';
import { startAcrExchange, type FakeAcrExchange } from '../support/fake-clouds/acr-exchange.ts';
import { startEntra, type FakeEntra } from '../support/fake-clouds/entra.ts';
import { decodeJwt } from '../support/fake-clouds/jwt.ts';
import { proveRegistryLogin } from '../support/fake-clouds/registry-login.ts';
import { servingCert, type Tls } from '../support/fake-clouds/server.ts';
import { credentialProviderContract } from '../contract/credential-provider.ts';

const clientID = randomUUID();
const clientSecret = `sp-secret-${randomUUID()}`;
const within = (date: Date, expectedMs: number, slackMs = 60_000): boolean => Math.abs(date.getTime() - expectedMs) < slackMs;

describe('client secret → Entra token → ACR refresh token', () => {
  let tls: Tls;
  let entra: FakeEntra;
  let acr: FakeAcrExchange;
  let provider: AzureProvider;
  let source: AzureSource;
  const secret = { clientSecret };

  before(async () => {
    tls = await servingCert('fake-azure');
    entra = await startEntra({ tls, clients: { [clientID]: clientSecret } });
    acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
    provider = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, registryDomains: ['127.0.0.1'] });
    source = { registry: acr.host, tenantID: entra.tenantID, clientID, credentialsSecret: { name: 'acr-sp', namespace: 'registry-access' } };
  });
  after(async () => {
    await acr.close();
    await entra.close();
  });

  test('the refresh token becomes the password of the fixed ACR user, expiring at its exp', async () => {
    assert.deepEqual(provider.validate(source), []);
    const before = { entra: entra.requests, acr: acr.requests };
    const fetched = await provider.fetch(source, secret);
    assert.equal(entra.requests, before.entra + 1);
    assert.equal(acr.requests, before.acr + 1);
    assert.equal(entra.rejected + acr.rejected, 0);
    assert.equal(entra.scopes.at(-1), ARM_SCOPE);
    assert.ok(entra.discoveries > 0, 'MSAL read the local OpenID configuration (instance discovery is off)');
    assert.deepEqual(acr.lastForm, { grant_type: 'access_token', service: acr.host, tenant: entra.tenantID });
    const refreshToken = acr.issued.at(-1);
    assert.ok(refreshToken);
    assert.deepEqual(fetched.entries, [{
      registry: acr.host, username: ACR_USERNAME, password: refreshToken,
      auth: Buffer.from(`${ACR_USERNAME}:${refreshToken}`).toString('base64'),
    }]);
    assert.equal(fetched.expiresAt.getTime(), (decodeJwt(refreshToken)?.claims.exp as number) * 1000);
    assert.ok(within(fetched.expiresAt, Date.now() + 3 * 3600_000), fetched.expiresAt.toISOString());
  });

  test('the expiry follows the refresh token, and each fetch gets a fresh one', async () => {
    acr.lifetimeSeconds = 600;
    try {
      const a = await provider.fetch(source, secret);
      const b = await provider.fetch(source, secret);
      assert.ok(within(a.expiresAt, Date.now() + 600_000), a.expiresAt.toISOString());
      assert.notEqual(a.entries[0]?.password, b.entries[0]?.password);
    } finally {
      acr.lifetimeSeconds = 3 * 3600;
    }
  });

  test('the refresh token logs in to a registry', async () => {
    const entry = (await provider.fetch(source, secret)).entries[0];
    assert.ok(entry);
    const proof = await proveRegistryLogin(entry, acr.issued);
    assert.equal(proof.withEntry.ok, true, proof.withEntry.stderr);
    assert.equal(proof.withWrongPassword.ok, false);
  });

  test('a wrong client secret is refused by Entra; the error does not carry the secret', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const acrBefore = acr.requests;
    await assert.rejects(provider.fetch(source, { clientSecret: wrong }), (err: Error) => {
      assert.match(err.message, /^Entra token \(clientSecret\) for 127\.0\.0\.1:\d+ failed/);
      assert.ok(!err.message.includes(wrong), err.message);
      return true;
    });
    assert.equal(acr.requests, acrBefore, 'no exchange without a token');
  });

  test('Entra failing rejects the fetch of a provider without a live Entra token; one that holds one still exchanges it', async () => {
    const cold = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, registryDomains: ['127.0.0.1'] });
    await provider.fetch(source, secret);
    entra.fail = true;
    try {
      await assert.rejects(cold.fetch(source, secret), /Entra token \(clientSecret\)/);
      const before = acr.requests;
      await provider.fetch(source, secret);
      assert.equal(acr.requests, before + 1, 'the shared Entra token is exchanged again while Entra is down');
    } finally {
      entra.fail = false;
    }
  });

  test('the exchange failing rejects with the status only', async () => {
    acr.fail = true;
    try {
      await assert.rejects(provider.fetch(source, secret), /^Error: ACR token exchange at 127\.0\.0\.1:\d+ failed: HTTP 500$/);
    } finally {
      acr.fail = false;
    }
  });

  test('a registry outside ACR domains never receives a token', async () => {
    const strict = new AzureProvider({ authorityHost: entra.url, ca: tls.ca });
    assert.match(strict.validate(source).join(), /not under azurecr\.io/);
    const before = { entra: entra.requests, acr: acr.requests };
    await assert.rejects(strict.fetch(source, secret), /Entra tokens go to ACR hosts only/);
    assert.deepEqual({ entra: entra.requests, acr: acr.requests }, before);
  });
});

const contractServers: { close(): Promise<void> }[] = [];
after(async () => { await Promise.all(contractServers.map((s) => s.close())); });

credentialProviderContract('Azure provider against local Entra and ACR exchange', async () => {
  const tls = await servingCert('fake-azure-contract');
  const entra = await startEntra({ tls, clients: { [clientID]: clientSecret } });
  const acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
  contractServers.push(acr, entra);
  const provider = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, registryDomains: ['127.0.0.1'] });
  const source: AzureSource = { registry: acr.host, tenantID: entra.tenantID, clientID, credentialsSecret: { name: 'acr-sp', namespace: 'registry-access' } };
  const wrong = `wrong-${randomUUID()}`;
  return {
    provider, source, secret: { clientSecret },
    failing: { provider, source, secret: { clientSecret: wrong } },
    secretValues: [clientSecret, wrong],
  };
});
