// The Azure provider with @azure/identity's real credentials (MSAL) against a local HTTPS Entra ID, then
// the ACR token exchange against a local HTTPS `/oauth2/exchange` that accepts only tokens that Entra
// issued. Both use certificates from the testbed CA, trusted through the provider's `ca` option. Three
// ways to the Entra token: a client secret (ClientSecretCredential); workload identity
// (WorkloadIdentityCredential), whose client assertion is a real projected ServiceAccount token of the
// testbed's API server that Entra trusts through a federated identity credential; and managed identity
// (ManagedIdentityCredential) through a local IMDS over HTTP. The refresh token then logs in to a real
// registry through skopeo.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AzureSource } from '../../src/api/v1alpha1/types.ts';
import { ACR_USERNAME, ARM_SCOPE, AzureProvider } from '../../src/credentials/azure.ts';
import { OutboundPolicy } from '../../src/util/outbound.ts';
import { createNamespace, deleteNamespace, rest, uniqueName } from '../support/cluster.ts';
import { setEnv } from '../support/env.ts';
import { startAcrExchange, type FakeAcrExchange } from '../support/fake-clouds/acr-exchange.ts';
import { startEntra, TOKEN_EXCHANGE_AUDIENCE, type FakeEntra } from '../support/fake-clouds/entra.ts';
import { startImds, type FakeImds } from '../support/fake-clouds/imds.ts';
import { decodeJwt } from '../support/fake-clouds/jwt.ts';
import { createServiceAccount, kubernetesIssuer, projectedToken, type ProjectedToken } from '../support/fake-clouds/kubernetes-oidc.ts';
import { proveRegistryLogin } from '../support/fake-clouds/registry-login.ts';
import { servingCert, type Tls } from '../support/fake-clouds/server.ts';
import { credentialProviderContract } from '../contract/credential-provider.ts';

const clientID = randomUUID();
const clientSecret = `sp-secret-${randomUUID()}`;
/** The local Entra and ACR exchange listen on loopback: the daemon's --outbound-hosts=127.0.0.1. */
const LOOPBACK = new OutboundPolicy({ hosts: ['127.0.0.1'] });
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
    provider = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: LOOPBACK });
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
    const cold = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: LOOPBACK });
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

  test('an Entra token POST answered with a redirect is not sent again, not even to the same origin', async () => {
    const cold = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: LOOPBACK });
    const before = { entra: entra.requests, acr: acr.requests };
    entra.redirect = true;
    try {
      await assert.rejects(cold.fetch(source, secret), (err: Error) => {
        assert.match(err.message, /^Entra token \(clientSecret\) for 127\.0\.0\.1:\d+ failed/);
        assert.ok(!err.message.includes(clientSecret), err.message);
        return true;
      });
    } finally {
      entra.redirect = false;
    }
    assert.equal(entra.redirectedRequests, 0, 'the client secret went nowhere else');
    assert.deepEqual({ entra: entra.requests, acr: acr.requests }, before, 'no token issued, no exchange');
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
    assert.match(strict.validate(source).join(), /registry names a host outside \*\.azurecr\.io, \*\.azurecr\.cn, \*\.azurecr\.us that --outbound-hosts does not list/);
    const before = { entra: entra.requests, acr: acr.requests };
    await assert.rejects(strict.fetch(source, secret), /Entra tokens go to ACR hosts only/);
    assert.deepEqual({ entra: entra.requests, acr: acr.requests }, before);
  });
});

/** Managed identity endpoints other than IMDS that @azure/identity would prefer: none of them here. */
const NO_OTHER_MANAGED_IDENTITY = { IDENTITY_ENDPOINT: undefined, IDENTITY_HEADER: undefined, IMDS_ENDPOINT: undefined, MSI_ENDPOINT: undefined };

/** The refresh token's subject: the Entra app the ACR exchange saw. */
const refreshTokenSubject = (token: string | undefined): unknown => decodeJwt(token ?? '')?.claims.sub;

describe('workload identity: a projected ServiceAccount token as client assertion → Entra token → ACR refresh token', () => {
  const namespace = uniqueName('azure-wi');
  const appID = randomUUID();
  let tls: Tls;
  let entra: FakeEntra;
  let acr: FakeAcrExchange;
  let dir: string;
  /** ServiceAccount `acr-puller`'s token for Entra, which the app's federated credential names. */
  let puller: ProjectedToken;
  let restoreEnv: () => void;

  before(async () => {
    await createNamespace(namespace);
    await createServiceAccount(namespace, 'acr-puller');
    await createServiceAccount(namespace, 'stranger');
    tls = await servingCert('fake-azure-wi');
    entra = await startEntra({ tls });
    acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
    dir = mkdtempSync(join(tmpdir(), 'azure-wi-'));
    puller = await projectedToken(namespace, 'acr-puller', TOKEN_EXCHANGE_AUDIENCE, dir, 'acr-puller');
    entra.addFederatedCredential(appID, { trust: await kubernetesIssuer(), subject: puller.subject });
    // What the AKS workload identity webhook injects; the source names neither tenant nor client.
    restoreEnv = setEnv({ AZURE_CLIENT_ID: appID, AZURE_TENANT_ID: entra.tenantID });
  });
  after(async () => {
    restoreEnv();
    await acr.close();
    await entra.close();
    rmSync(dir, { recursive: true, force: true });
    await deleteNamespace(namespace);
  });

  const providerWith = (tokenFile: string): AzureProvider =>
    new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: LOOPBACK, federatedTokenFile: tokenFile });

  test('Entra accepts the token file as the app\'s assertion; the refresh token for that app is the password', async () => {
    const source: AzureSource = { registry: acr.host };
    const before = { entra: entra.requests, acr: acr.requests };
    const fetched = await providerWith(puller.path).fetch(source, undefined);
    assert.deepEqual({ entra: entra.requests, acr: acr.requests }, { entra: before.entra + 1, acr: before.acr + 1 });
    assert.equal(entra.rejected + acr.rejected, 0);
    assert.equal(entra.scopes.at(-1), ARM_SCOPE);
    assert.deepEqual(acr.lastForm, { grant_type: 'access_token', service: acr.host, tenant: entra.tenantID }, 'the tenant comes from the Entra token');
    const refreshToken = acr.issued.at(-1);
    assert.equal(refreshTokenSubject(refreshToken), appID, 'issued to the app of AZURE_CLIENT_ID');
    assert.deepEqual(fetched.entries, [{
      registry: acr.host, username: ACR_USERNAME, password: refreshToken,
      auth: Buffer.from(`${ACR_USERNAME}:${refreshToken ?? ''}`).toString('base64'),
    }]);
  });

  test('a token of a ServiceAccount the app does not trust is refused by Entra; the error quotes no token', async () => {
    const stranger = await projectedToken(namespace, 'stranger', TOKEN_EXCHANGE_AUDIENCE, dir, 'stranger');
    const before = { rejected: entra.rejected, acr: acr.requests };
    await assert.rejects(providerWith(stranger.path).fetch({ registry: acr.host }, undefined), (err: Error) => {
      assert.match(err.message, /^Entra token \(workloadIdentity\) for 127\.0\.0\.1:\d+ failed: .*AADSTS70021/);
      for (const token of [stranger.token, puller.token]) assert.ok(!err.message.includes(token), err.message);
      return true;
    });
    assert.deepEqual({ rejected: entra.rejected, acr: acr.requests }, { rejected: before.rejected + 1, acr: before.acr }, 'no exchange without a token');
  });
});

describe('managed identity: IMDS (AZURE_POD_IDENTITY_AUTHORITY_HOST) → Entra token → ACR refresh token', () => {
  const systemAssigned = randomUUID();
  const userAssigned = randomUUID();
  let entra: FakeEntra;
  let imds: FakeImds;
  let acr: FakeAcrExchange;
  let provider: AzureProvider;
  let restoreEnv: () => void;

  before(async () => {
    const tls = await servingCert('fake-azure-mi');
    entra = await startEntra({ tls });
    imds = await startImds({ entra, systemAssigned, userAssigned: [userAssigned] });
    acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
    restoreEnv = setEnv({
      ...NO_OTHER_MANAGED_IDENTITY, AZURE_CLIENT_ID: undefined, AZURE_TENANT_ID: undefined, AZURE_FEDERATED_TOKEN_FILE: undefined,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url,
    });
    provider = new AzureProvider({ ca: tls.ca, outbound: LOOPBACK });
  });
  after(async () => {
    restoreEnv();
    await Promise.all([acr.close(), imds.close(), entra.close()]);
  });

  test('the system-assigned identity\'s IMDS token is exchanged; the refresh token for it is the password', async () => {
    const before = { imds: imds.requests, acr: acr.requests };
    const fetched = await provider.fetch({ registry: acr.host }, undefined);
    assert.deepEqual({ imds: imds.requests, acr: acr.requests }, { imds: before.imds + 1, acr: before.acr + 1 });
    assert.equal(imds.rejected + acr.rejected, 0);
    assert.deepEqual(imds.lastQuery, { 'api-version': '2018-02-01', resource: 'https://management.azure.com' });
    const refreshToken = acr.issued.at(-1);
    assert.equal(refreshTokenSubject(refreshToken), systemAssigned);
    assert.deepEqual(fetched.entries.map((e) => [e.registry, e.username, e.password]), [[acr.host, ACR_USERNAME, refreshToken]]);
    assert.equal(fetched.expiresAt.getTime(), (decodeJwt(refreshToken ?? '')?.claims.exp as number) * 1000);
  });

  test('a clientID selects the user-assigned identity', async () => {
    const fetched = await provider.fetch({ registry: acr.host, clientID: userAssigned }, undefined);
    assert.equal(imds.lastQuery?.client_id, userAssigned);
    assert.equal(refreshTokenSubject(fetched.entries[0]?.password), userAssigned);
    assert.equal(fetched.entries[0]?.password, acr.issued.at(-1));
  });

  test('an identity IMDS does not have is refused with IMDS\'s reason, and nothing is exchanged', async () => {
    const before = { rejected: imds.rejected, acr: acr.requests };
    await assert.rejects(provider.fetch({ registry: acr.host, clientID: randomUUID() }, undefined),
      /^Error: Entra token \(managedIdentity\) for 127\.0\.0\.1:\d+ failed: .*Identity not found/);
    assert.deepEqual({ rejected: imds.rejected, acr: acr.requests }, { rejected: before.rejected + 1, acr: before.acr });
  });
});

const contractServers: { close(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(contractServers.map((s) => s.close()));
  rest.close();
});

credentialProviderContract('Azure provider against local Entra and ACR exchange', async () => {
  const tls = await servingCert('fake-azure-contract');
  const entra = await startEntra({ tls, clients: { [clientID]: clientSecret } });
  const acr = await startAcrExchange({ tls, verify: (t) => entra.verify(t) });
  contractServers.push(acr, entra);
  const provider = new AzureProvider({ authorityHost: entra.url, ca: tls.ca, outbound: LOOPBACK });
  const source: AzureSource = { registry: acr.host, tenantID: entra.tenantID, clientID, credentialsSecret: { name: 'acr-sp', namespace: 'registry-access' } };
  const wrong = `wrong-${randomUUID()}`;
  return {
    provider, source, secret: { clientSecret },
    failing: { provider, source, secret: { clientSecret: wrong } },
    secretValues: [clientSecret, wrong],
  };
});
