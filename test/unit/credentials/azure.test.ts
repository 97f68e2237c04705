import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { AzureSource } from '../../../src/api/v1alpha1/types.ts';
import {
  ACR_USERNAME, ARM_SCOPE, AzureProvider,
  type AzureCredentialFactory, type AzureCredentialInput, type AzureProviderOptions,
} from '../../../src/credentials/azure.ts';
import type { FetchInit, FetchLike } from '../../../src/util/fetch.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { OutboundPolicy } from '../../../src/util/outbound.ts';
import { credentialProviderContract } from '../../contract/credential-provider.ts';
import { unsignedJwt as jwt } from '../../support/fake-clouds/jwt.ts';

const SECRET = 'sp~client~secret~value';
const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const REGISTRY = 'myregistry.azurecr.io';
const source: AzureSource = { registry: REGISTRY, tenantID: TENANT, clientID: CLIENT, credentialsSecret: { name: 'acr-sp', namespace: 'registry-access' } };
const clock = new FakeClock();

const EXP = Math.floor(Date.UTC(2025, 0, 1, 3) / 1000);
const ENTRA_TOKEN = jwt({ aud: 'https://management.azure.com', tid: 'tid-from-token' });

type ExchangeReply = { status: number; body: string } | Error;

interface Recorded {
  inputs: AzureCredentialInput[];
  scopes: string[];
  signals: (AbortSignal | undefined)[];
  requests: { url: string; init: FetchInit }[];
}

function fakes(opts: {
  token?: () => string | Error;
  /** The Entra token's expiresOnTimestamp; default 0 (unknown: never reused). */
  expiresOn?: () => number;
  exchange?: () => ExchangeReply;
  options?: AzureProviderOptions;
} = {}): { provider: AzureProvider; rec: Recorded } {
  const rec: Recorded = { inputs: [], scopes: [], signals: [], requests: [] };
  const credentialFactory: AzureCredentialFactory = (input) => {
    rec.inputs.push(input);
    return {
      getToken: (scope, options) => {
        rec.scopes.push(String(scope));
        rec.signals.push(options?.abortSignal as AbortSignal | undefined);
        const t = opts.token?.() ?? ENTRA_TOKEN;
        return t instanceof Error ? Promise.reject(t) : Promise.resolve({ token: t, expiresOnTimestamp: opts.expiresOn?.() ?? 0 });
      },
    };
  };
  const fetch: FetchLike = (url, init) => {
    rec.requests.push({ url, init });
    const r = opts.exchange?.() ?? { status: 200, body: JSON.stringify({ refresh_token: jwt({ exp: EXP, jti: 'x' }) }) };
    return r instanceof Error ? Promise.reject(r) : Promise.resolve({ status: r.status, headers: { get: () => null }, body: Readable.from([Buffer.from(r.body)]) });
  };
  return { provider: new AzureProvider({ credentialFactory, fetch, clock, ...opts.options }), rec };
}

test('client secret: Entra token for ARM, exchanged at the registry; the refresh token is the password until its exp', async () => {
  const { provider, rec } = fakes();
  const fetched = await provider.fetch(source, { clientSecret: SECRET });
  assert.deepEqual(rec.inputs, [{ kind: 'clientSecret', tenantID: TENANT, clientID: CLIENT, clientSecret: SECRET }]);
  assert.deepEqual(rec.scopes, [ARM_SCOPE]);
  assert.equal(rec.requests.length, 1);
  const request = rec.requests[0]!;
  assert.equal(request.url, `https://${REGISTRY}/oauth2/exchange`);
  assert.equal(request.init.method, 'POST');
  assert.equal(request.init.headers['Content-Type'], 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(request.init.body)),
    { grant_type: 'access_token', service: REGISTRY, tenant: TENANT, access_token: ENTRA_TOKEN });
  const refresh = jwt({ exp: EXP, jti: 'x' });
  assert.deepEqual(fetched.entries, [{ registry: REGISTRY, username: ACR_USERNAME, password: refresh, auth: Buffer.from(`${ACR_USERNAME}:${refresh}`).toString('base64') }]);
  assert.equal(fetched.expiresAt.getTime(), EXP * 1000);
});

test('without a Secret: workload identity when a federated token file is configured, else managed identity', async () => {
  const workload = fakes({ options: { federatedTokenFile: '/var/run/secrets/azure/tokens/azure-identity-token' } });
  await workload.provider.fetch({ registry: REGISTRY, tenantID: TENANT, clientID: CLIENT }, undefined);
  assert.deepEqual(workload.rec.inputs, [{ kind: 'workloadIdentity', tenantID: TENANT, clientID: CLIENT, tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token' }]);
  const managed = fakes();
  await managed.provider.fetch({ registry: REGISTRY, clientID: CLIENT }, undefined);
  await managed.provider.fetch({ registry: REGISTRY }, undefined);
  assert.deepEqual(managed.rec.inputs, [{ kind: 'managedIdentity', clientID: CLIENT }, { kind: 'managedIdentity' }]);
  const form = new URLSearchParams(managed.rec.requests[0]!.init.body);
  assert.equal(form.get('tenant'), 'tid-from-token', 'without tenantID the token\'s tid names the tenant');
});

test('a configured Secret without the key never falls back to the daemon identity', async () => {
  const { provider, rec } = fakes();
  await assert.rejects(provider.fetch(source, undefined), /Secret registry-access\/acr-sp has no key clientSecret/);
  await assert.rejects(provider.fetch({ ...source, credentialsSecret: { ...source.credentialsSecret!, key: 'password' } }, { clientSecret: SECRET }),
    /has no key password/);
  assert.equal(rec.inputs.length, 0);
});

test('custom scope and abort signal reach the credential and the exchange', async () => {
  const { provider, rec } = fakes({ options: { scope: 'https://containerregistry.azure.net/.default' } });
  const controller = new AbortController();
  await provider.fetch(source, { clientSecret: SECRET }, controller.signal);
  assert.deepEqual(rec.scopes, ['https://containerregistry.azure.net/.default']);
  assert.equal(rec.signals[0], controller.signal);
  assert.equal(rec.requests[0]!.init.signal, controller.signal);
});

test('a refresh token without a readable exp expires in an hour (conservative)', async () => {
  const { provider } = fakes({ exchange: () => ({ status: 200, body: JSON.stringify({ refresh_token: 'opaque-token' }) }) });
  const fetched = await provider.fetch(source, { clientSecret: SECRET });
  assert.equal(fetched.expiresAt.getTime(), clock.nowMs() + 3600_000);
});

test('failures give safe messages: no secret, no token, no response body', async () => {
  const entra = fakes({ token: () => Object.assign(new Error(`AADSTS7000215: Invalid client secret ${SECRET}`), { name: 'AuthenticationError' }) });
  await assert.rejects(entra.provider.fetch(source, { clientSecret: SECRET }), (err: Error) => {
    assert.equal(err.message, `Entra token (clientSecret) for ${REGISTRY} failed: AuthenticationError: AADSTS7000215: Invalid client secret [redacted]`);
    return true;
  });
  assert.equal(entra.rec.requests.length, 0, 'no exchange without an Entra token');
  const cases: [ExchangeReply, RegExp][] = [
    [{ status: 401, body: `{"errors":[{"message":"bad ${ENTRA_TOKEN}"}]}` }, /failed: HTTP 401$/],
    [{ status: 200, body: '{}' }, /returned no refresh_token$/],
    [{ status: 200, body: 'not json' }, /returned no refresh_token$/],
    [Object.assign(new Error(`socket hang up ${ENTRA_TOKEN}`), { code: 'ECONNRESET' }), /failed: ECONNRESET$/],
  ];
  for (const [response, expected] of cases) {
    const { provider } = fakes({ exchange: () => response });
    await assert.rejects(provider.fetch(source, { clientSecret: SECRET }), (err: Error) => {
      assert.match(err.message, expected);
      assert.match(err.message, new RegExp(`^ACR token exchange at ${REGISTRY.replace(/\./g, '\\.')}`));
      assert.ok(!err.message.includes(ENTRA_TOKEN) && !err.message.includes(SECRET), err.message);
      return true;
    });
  }
});

test('validate', () => {
  const provider = new AzureProvider();
  assert.deepEqual(provider.validate(source), []);
  assert.deepEqual(provider.validate({ registry: 'https://MyRegistry.azurecr.cn/' }), []);
  assert.deepEqual(provider.validate({ registry: 'myregistry.azurecr.io/team' }), ['azure: "myregistry.azurecr.io/team" is not a registry host']);
  assert.deepEqual(provider.validate({ registry: 'evil.example.com' }),
    ['azure: registry names a host outside *.azurecr.io, *.azurecr.cn, *.azurecr.us that --outbound-hosts does not list; Entra tokens go to ACR hosts only']);
  assert.deepEqual(provider.validate({ registry: 'notazurecr.io' }).length, 1);
  assert.deepEqual(provider.validate({ registry: REGISTRY, tenantID: 'bad tenant/' }), ['azure: tenantID is not a tenant ID or domain']);
  assert.deepEqual(provider.validate({ registry: REGISTRY, credentialsSecret: { name: 'x', namespace: 'y' } }),
    ['azure: a client secret needs tenantID and clientID']);
  assert.deepEqual(new AzureProvider({ outbound: new OutboundPolicy({ hosts: ['*.registry.internal'] }) }).validate({ registry: 'acr.registry.internal:5000' }), []);
});

test('an invalid source is refused before any request', async () => {
  const { provider, rec } = fakes();
  await assert.rejects(provider.fetch({ registry: 'evil.example.com' }, undefined), /Entra tokens go to ACR hosts only/);
  assert.equal(rec.inputs.length + rec.requests.length, 0);
});

test('one Entra token serves every registry of the identity; the exchange runs per registry', async () => {
  const { provider, rec } = fakes({ expiresOn: () => clock.nowMs() + 3600_000 });
  const second = { ...source, registry: 'other.azurecr.io' };
  await provider.fetch(source, { clientSecret: SECRET });
  await provider.fetch(second, { clientSecret: SECRET });
  assert.equal(rec.scopes.length, 1, 'one Entra token');
  assert.deepEqual(rec.requests.map((r) => new URL(r.url).host), [REGISTRY, 'other.azurecr.io'], 'one exchange per registry');
  await provider.fetch(source, { clientSecret: `${SECRET}-rotated` });
  assert.equal(rec.scopes.length, 2, 'another client secret is another Entra identity');
  clock.advance(3600_000 - 4 * 60_000);
  await provider.fetch(source, { clientSecret: SECRET });
  assert.equal(rec.scopes.length, 3, 'an Entra token about to expire is fetched again');
});

test('identity: registry, tenant, client and a hash of the secret, never the secret', () => {
  const provider = new AzureProvider();
  const id = provider.identity(source, { clientSecret: SECRET });
  assert.match(id, new RegExp(`^azure\\|${REGISTRY.replace(/\./g, '\\.')}\\|tenant:${TENANT}\\|client:${CLIENT}\\|secret:[0-9a-f]{64}$`));
  assert.ok(!id.includes(SECRET));
  assert.equal(provider.identity({ ...source, registry: `https://${REGISTRY}/` }, { clientSecret: SECRET }), id);
  assert.notEqual(provider.identity(source, { clientSecret: `${SECRET}2` }), id);
  assert.match(provider.identity(source, undefined), /secret:missing$/);
  assert.equal(provider.identity({ registry: REGISTRY }, undefined), `azure|${REGISTRY}|tenant:|client:|managed`);
  assert.equal(new AzureProvider({ federatedTokenFile: '/t' }).identity({ registry: REGISTRY }, undefined), `azure|${REGISTRY}|tenant:|client:|workload`);
});

credentialProviderContract('Azure provider with a fake credential and exchange', () => {
  const good = fakes();
  const failing = fakes({ exchange: () => ({ status: 401, body: `denied ${SECRET}` }) });
  return Promise.resolve({
    provider: good.provider, source, secret: { clientSecret: SECRET },
    failing: { provider: failing.provider, source, secret: { clientSecret: SECRET } },
    secretValues: [SECRET, ENTRA_TOKEN],
  });
});
