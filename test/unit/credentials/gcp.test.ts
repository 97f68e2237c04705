import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { GcpSource } from '../../../src/api/v1alpha1/types.ts';
import {
  GCP_USERNAME, GcpProvider, parseGcpCredentials, type GcpAuthClient, type GcpAuthFactory, type GcpCredentialsJson,
} from '../../../src/credentials/gcp.ts';
import { TokenCache } from '../../../src/credentials/token-cache.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { OutboundPolicy } from '../../../src/util/outbound.ts';
import { credentialProviderContract } from '../../contract/credential-provider.ts';

const PRIVATE_KEY = '-----BEGIN PRIVATE KEY-----\nMIIfakefakefake\n-----END PRIVATE KEY-----\n';
const KEY = { type: 'service_account', client_email: 'puller@proj.iam.gserviceaccount.com', private_key: PRIVATE_KEY, private_key_id: 'kid-1' };
const KEY_JSON = JSON.stringify(KEY);
const REF = { name: 'gcp-sa', namespace: 'registry-access' };
const withKey: GcpSource = { registries: ['gcr.io', 'europe-docker.pkg.dev'], credentialsSecret: REF };

interface Recorded { inputs: (GcpCredentialsJson | undefined)[] }

function fakeFactory(respond: () => { token?: string | null; expiry?: number | null } | Error): { factory: GcpAuthFactory; rec: Recorded } {
  const rec: Recorded = { inputs: [] };
  const factory: GcpAuthFactory = (json) => {
    rec.inputs.push(json);
    const client: GcpAuthClient = {
      credentials: {},
      getAccessToken() {
        const r = respond();
        if (r instanceof Error) return Promise.reject(r);
        this.credentials.expiry_date = r.expiry;
        return Promise.resolve({ token: r.token });
      },
    };
    return client;
  };
  return { factory, rec };
}

const clock = new FakeClock();

test('entries: one per registry, canonical, sorted, deduplicated, with oauth2accesstoken and the token', async () => {
  const { factory } = fakeFactory(() => ({ token: 'ya29.token', expiry: Date.UTC(2025, 0, 1, 1) }));
  const fetched = await new GcpProvider({ authFactory: factory, clock }).fetch(
    { registries: ['https://gcr.io/', 'europe-docker.pkg.dev', 'gcr.io'] }, undefined);
  const auth = Buffer.from(`${GCP_USERNAME}:ya29.token`).toString('base64');
  assert.deepEqual(fetched.entries, [
    { registry: 'europe-docker.pkg.dev', auth, username: GCP_USERNAME, password: 'ya29.token' },
    { registry: 'gcr.io', auth, username: GCP_USERNAME, password: 'ya29.token' },
  ]);
  assert.equal(fetched.expiresAt.toISOString(), '2025-01-01T01:00:00.000Z');
});

test('expiry defaults to one hour from now when the token has none', async () => {
  const { factory } = fakeFactory(() => ({ token: 't', expiry: null }));
  const fetched = await new GcpProvider({ authFactory: factory, clock }).fetch({ registries: ['gcr.io'] }, undefined);
  assert.equal(fetched.expiresAt.getTime(), clock.nowMs() + 3600_000);
});

test('without credentialsSecret the factory is asked for ADC; with it, for the parsed key', async () => {
  const { factory, rec } = fakeFactory(() => ({ token: 't' }));
  const provider = new GcpProvider({ authFactory: factory, clock });
  await provider.fetch({ registries: ['gcr.io'] }, { 'credentials.json': KEY_JSON });
  await provider.fetch(withKey, { 'credentials.json': KEY_JSON });
  await provider.fetch({ ...withKey, credentialsSecret: { ...REF, key: 'sa.json' } }, { 'sa.json': KEY_JSON });
  assert.deepEqual(rec.inputs, [undefined, KEY, KEY]);
});

test('a missing Secret or key never falls back to the daemon identity', async () => {
  const { factory, rec } = fakeFactory(() => ({ token: 't' }));
  const provider = new GcpProvider({ authFactory: factory, clock });
  await assert.rejects(provider.fetch(withKey, undefined), /Secret registry-access\/gcp-sa has no key credentials\.json/);
  await assert.rejects(provider.fetch(withKey, { other: KEY_JSON }), /has no key credentials\.json/);
  assert.equal(rec.inputs.length, 0);
});

test('malformed credentials are refused with messages that quote no JSON', async () => {
  const cases: [string, RegExp][] = [
    ['{not json', /is not valid JSON/],
    ['[]', /is not an object/],
    [JSON.stringify({ ...KEY, type: 'authorized_user' }), /must be of type service_account or external_account/],
    [JSON.stringify({ ...KEY, private_key: undefined }), /service_account key has no private_key/],
    [JSON.stringify({ ...KEY, client_email: '' }), /has no client_email/],
    [JSON.stringify({ type: 'external_account', token_url: 'https://sts.googleapis.com/v1/token' }), /no audience; .*no credential_source/],
    [JSON.stringify({ type: 'external_account', audience: 'a', credential_source: { executable: { command: 'x' } } }), /executable-sourced/],
  ];
  const { factory, rec } = fakeFactory(() => ({ token: 't' }));
  const provider = new GcpProvider({ authFactory: factory, clock });
  for (const [raw, expected] of cases) {
    await assert.rejects(provider.fetch(withKey, { 'credentials.json': raw }), (err: Error) => {
      assert.match(err.message, expected);
      assert.match(err.message, /^Secret registry-access\/gcp-sa key credentials\.json: /);
      assert.ok(!err.message.includes('MIIfake') && !err.message.includes(raw), err.message);
      return true;
    });
  }
  assert.equal(rec.inputs.length, 0);
});

test('token endpoints must be Google\'s own hosts of the daemon\'s universe, https, unless --outbound-hosts lists them', () => {
  const key = (extra: object) => JSON.stringify({ ...KEY, ...extra });
  for (const ok of [
    {}, { token_uri: 'https://oauth2.googleapis.com/token' }, { token_uri: 'https://accounts.google.com/o/oauth2/token' },
    { universe_domain: 'googleapis.com' },
  ]) assert.doesNotThrow(() => parseGcpCredentials(key(ok)), JSON.stringify(ok));
  const s3ns = { token_uri: 'https://oauth2.s3nsapis.fr/token', universe_domain: 's3nsapis.fr' };
  assert.doesNotThrow(() => parseGcpCredentials(key(s3ns), 's3nsapis.fr'), 'a key of the daemon\'s own universe');
  // The Secret's writer does not choose the universe, else any host could receive its tokens.
  assert.throws(() => parseGcpCredentials(key(s3ns)), /^Error: universe_domain must be googleapis\.com$/);
  assert.throws(() => parseGcpCredentials(key({ token_uri: 'https://oauth2.evil.example/token', universe_domain: 'evil.example' })), /universe_domain/);
  assert.throws(() => parseGcpCredentials(key({ token_uri: 'https://oauth2.s3nsapis.fr/token' }), 's3nsapis.fr'), /universe_domain must be s3nsapis\.fr/,
    'without universe_domain a JSON is of googleapis.com');
  for (const bad of [
    { token_uri: 'http://oauth2.googleapis.com/token' }, { token_uri: 'https://tokens.example.com/token' },
    { token_uri: 'https://googleapis.com.example.com/token' }, { token_uri: 'not a url' }, { token_uri: 42 },
    { token_uri: 'http://127.0.0.1:8080/token' }, { token_uri: 'https://localhost/token' }, { token_uri: 'https://sts.googleapis.com/v1/token' },
    { token_uri: 'https://oauth2.googleapis.com:15000/token' },
  ]) {
    assert.throws(() => parseGcpCredentials(key(bad)), (err: Error) => {
      assert.match(err.message, /^token_uri /);
      assert.ok(!err.message.includes(String(bad.token_uri)), 'the message never quotes the value');
      return true;
    }, JSON.stringify(bad));
  }
  const local = new OutboundPolicy({ hosts: ['127.0.0.1:8080'] });
  assert.doesNotThrow(() => parseGcpCredentials(key({ token_uri: 'http://127.0.0.1:8080/token' }), 'googleapis.com', local));
  assert.throws(() => parseGcpCredentials(key({ token_uri: 'http://127.0.0.1:8081/token' }), 'googleapis.com', local), /token_uri names a host/);
  const external = { type: 'external_account', audience: 'aud', credential_source: { file: '/var/run/token' } };
  const tokens = new OutboundPolicy({ files: ['/var/run'] });
  assert.doesNotThrow(() => parseGcpCredentials(JSON.stringify(external), 'googleapis.com', tokens));
  assert.throws(() => parseGcpCredentials(JSON.stringify({ ...external, token_url: 'https://evil.example.com/sts' }), 'googleapis.com', tokens),
    /^Error: token_url names a host outside sts\.googleapis\.com that --outbound-hosts does not list$/);
  assert.throws(() => parseGcpCredentials(JSON.stringify({ ...external, service_account_impersonation_url: 'https://x.example.com/' }), 'googleapis.com', tokens),
    /^Error: service_account_impersonation_url names a host outside iamcredentials\.googleapis\.com/);
});

test('credential_source: no file, URL or AWS metadata URL unless the daemon\'s flags allow it', () => {
  const external = (source: object) => JSON.stringify({ type: 'external_account', audience: 'aud', credential_source: source });
  const none = new OutboundPolicy();
  const allowing = new OutboundPolicy({ hosts: ['169.254.169.254', '127.0.0.1:9000'], files: ['/var/run/secrets/tokens'] });
  const aws = { environment_id: 'aws1', regional_cred_verification_url: 'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15' };
  const cases: [object, RegExp | undefined, RegExp | undefined][] = [
    // source, problem with no flags, problem with the flags above
    [{ file: '/etc/passwd' }, /credential_source\.file is refused: the daemon reads no file/, /credential_source\.file is refused: it is not under a directory of --outbound-files/],
    [{ file: '/var/run/secrets/tokens/gcp' }, /credential_source\.file is refused/, undefined],
    [{ file: '/var/run/secrets/tokens/../../../../etc/passwd' }, /credential_source\.file is refused/, /credential_source\.file is refused/],
    [{ file: 'tokens/gcp' }, /credential_source\.file is refused/, /credential_source\.file is refused/],
    [{ url: 'http://127.0.0.1:9000/token', headers: { 'X-Admin': 'yes' } }, /credential_source\.url names a host that --outbound-hosts does not list/, undefined],
    [{ url: 'http://127.0.0.1:9001/token' }, /credential_source\.url names a host/, /credential_source\.url names a host/],
    [{ url: 'http://[::1]:9000/token' }, /credential_source\.url names a host/, /credential_source\.url names a host/],
    [{ url: 'http://2130706433:9000/token' }, /credential_source\.url names a host/, undefined],
    [{ url: 'https://sts.googleapis.com/token' }, /credential_source\.url names a host/, /credential_source\.url names a host/],
    [{ ...aws, region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone' }, /credential_source\.region_url names a host/, undefined],
    [{ ...aws, url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials' }, /credential_source\.url names a host/, undefined],
    [{ ...aws, imdsv2_session_token_url: 'http://127.0.0.1:8080/latest/api/token' }, /credential_source\.imdsv2_session_token_url names a host/, /imdsv2_session_token_url names a host/],
    [{ ...aws }, undefined, undefined],
    [{ certificate: { certificate_config_location: '/etc/passwd' } }, /certificate-sourced/, /certificate-sourced/],
    [{ executable: { command: '/bin/sh' } }, /executable-sourced/, /executable-sourced/],
    [{ file: '/var/run/secrets/tokens/gcp', url: 'http://127.0.0.1:9000/' }, /exactly one of file and url/, /exactly one of file and url/],
  ];
  for (const [source, withNone, withFlags] of cases) {
    for (const [policy, want] of [[none, withNone], [allowing, withFlags]] as const) {
      const parse = () => parseGcpCredentials(external(source), 'googleapis.com', policy);
      if (want === undefined) assert.doesNotThrow(parse, JSON.stringify(source));
      else assert.throws(parse, want, JSON.stringify(source));
    }
  }
});

test('the JSON reaches the library rebuilt from checked snake_case fields: camelCase twins are dropped', () => {
  const raw = JSON.stringify({
    type: 'external_account', audience: 'aud', credential_source: { file: '/var/run/secrets/tokens/gcp', url: undefined, credentialSource: 'x' },
    tokenUrl: 'http://127.0.0.1:1/', serviceAccountImpersonationUrl: 'http://127.0.0.1:2/', credentialSource: { url: 'http://127.0.0.1:3/' },
  });
  const json = parseGcpCredentials(raw, 'googleapis.com', new OutboundPolicy({ files: ['/var/run/secrets/tokens'] }));
  assert.deepEqual(json, {
    type: 'external_account', audience: 'aud', token_url: 'https://sts.googleapis.com/v1/token', credential_source: { file: '/var/run/secrets/tokens/gcp' },
  });
});

test('a credential_source.file is checked again once its symbolic links are resolved', async () => {
  const root = mkdtempSync(join(tmpdir(), 'gcp-file-'));
  try {
    const allowed = join(root, 'allowed');
    const outside = join(root, 'outside');
    mkdirSync(allowed);
    mkdirSync(outside);
    writeFileSync(join(allowed, 'token'), 'subject');
    writeFileSync(join(outside, 'secret'), 'not for Secrets');
    symlinkSync(join(outside, 'secret'), join(allowed, 'link'));
    const { factory, rec } = fakeFactory(() => ({ token: 't' }));
    const provider = new GcpProvider({ authFactory: factory, clock, outbound: new OutboundPolicy({ files: [allowed] }) });
    const config = (file: string) => ({ 'credentials.json': JSON.stringify({ type: 'external_account', audience: 'aud', credential_source: { file } }) });
    await provider.fetch(withKey, config(join(allowed, 'token')));
    assert.equal(rec.inputs.length, 1);
    await assert.rejects(provider.fetch(withKey, config(join(allowed, 'link'))),
      /^Error: Secret registry-access\/gcp-sa key credentials\.json: credential_source\.file is refused: it is not under a directory of --outbound-files$/);
    await assert.rejects(provider.fetch(withKey, config(join(allowed, 'missing'))), /credential_source\.file cannot be read$/);
    assert.equal(rec.inputs.length, 1, 'no client for a refused file');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the provider checks a Secret\'s JSON against the universe it was given, not the one the JSON claims', async () => {
  const s3ns = JSON.stringify({ ...KEY, token_uri: 'https://oauth2.s3nsapis.fr/token', universe_domain: 's3nsapis.fr' });
  const { factory, rec } = fakeFactory(() => ({ token: 't' }));
  await new GcpProvider({ authFactory: factory, clock, universeDomain: 's3nsapis.fr' }).fetch(withKey, { 'credentials.json': s3ns });
  assert.equal(rec.inputs.length, 1);
  await assert.rejects(new GcpProvider({ authFactory: factory, clock }).fetch(withKey, { 'credentials.json': s3ns }),
    /^Error: Secret registry-access\/gcp-sa key credentials\.json: universe_domain must be googleapis\.com$/);
  assert.equal(rec.inputs.length, 1, 'no client for a refused JSON');
});

test('a failed token request names status and OAuth error code, never the response text', async () => {
  const gaxiosLike = Object.assign(new Error(`invalid_grant: key ${PRIVATE_KEY} rejected`), {
    status: 400, response: { status: 400, data: { error: 'invalid_grant', error_description: `bad ${PRIVATE_KEY}` } },
  });
  const { factory } = fakeFactory(() => gaxiosLike);
  await assert.rejects(new GcpProvider({ authFactory: factory, clock }).fetch(withKey, { 'credentials.json': KEY_JSON }),
    (err: Error) => {
      assert.equal(err.message, 'GCP access token for service account puller@proj.iam.gserviceaccount.com failed: HTTP 400 invalid_grant');
      assert.equal(err.cause, undefined);
      return true;
    });
  const network = fakeFactory(() => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
  await assert.rejects(new GcpProvider({ authFactory: network.factory, clock }).fetch({ registries: ['gcr.io'] }, undefined),
    /^Error: GCP access token for Application Default Credentials failed: ECONNREFUSED$/);
  const noAdc = fakeFactory(() => new Error('Could not load the default credentials. Browse to https://example'));
  await assert.rejects(new GcpProvider({ authFactory: noAdc.factory, clock }).fetch({ registries: ['gcr.io'] }, undefined),
    /no Application Default Credentials/);
  const empty = fakeFactory(() => ({ token: null }));
  await assert.rejects(new GcpProvider({ authFactory: empty.factory, clock }).fetch({ registries: ['gcr.io'] }, undefined), /no token/);
});

test('an aborted fetch rejects without waiting for the token', async () => {
  const provider = new GcpProvider({ authFactory: () => ({ credentials: {}, getAccessToken: () => new Promise(() => undefined) }), clock });
  const controller = new AbortController();
  const pending = provider.fetch({ registries: ['gcr.io'] }, undefined, controller.signal);
  controller.abort();
  await assert.rejects(pending, /aborted/);
  await assert.rejects(provider.fetch({ registries: ['gcr.io'] }, undefined, AbortSignal.abort()), /aborted/);
});

test('identity: a hash of the key, never the key, and never the registries the token is written for', () => {
  const provider = new GcpProvider({ authFactory: fakeFactory(() => ({ token: 't' })).factory });
  const id = provider.identity(withKey, { 'credentials.json': KEY_JSON });
  assert.match(id, /^gcp\|key:[0-9a-f]{64}$/);
  assert.ok(!id.includes('MIIfake') && !id.includes('puller@'));
  assert.equal(provider.identity({ ...withKey, registries: ['us-docker.pkg.dev'] }, { 'credentials.json': KEY_JSON }), id);
  assert.notEqual(provider.identity(withKey, { 'credentials.json': KEY_JSON.replace('kid-1', 'kid-2') }), id);
  assert.equal(provider.identity({ registries: ['gcr.io'] }, undefined), 'gcp|adc');
  assert.equal(provider.identity(withKey, undefined), 'gcp|key:missing');
});

test('two sources of one account that name different registries cause one token fetch', async () => {
  const { factory, rec } = fakeFactory(() => ({ token: 'ya29.shared', expiry: Date.UTC(2025, 0, 1, 1) }));
  const provider = new GcpProvider({ authFactory: factory, clock });
  const cache = new TokenCache({ clock });
  const a = await cache.get(provider, { registries: ['gcr.io'] }, undefined);
  const b = await cache.get(provider, { registries: ['europe-docker.pkg.dev', 'us-docker.pkg.dev'] }, undefined);
  assert.equal(rec.inputs.length, 1, 'one fetch');
  assert.deepEqual(a.entries.map((e) => e.registry), ['gcr.io']);
  assert.deepEqual(b.entries.map((e) => [e.registry, e.password]), [['europe-docker.pkg.dev', 'ya29.shared'], ['us-docker.pkg.dev', 'ya29.shared']]);
});

test('validate', () => {
  const provider = new GcpProvider();
  assert.deepEqual(provider.validate(withKey), []);
  assert.deepEqual(provider.validate({ registries: [] }), ['gcp: registries must name at least one registry']);
  assert.deepEqual(provider.validate({ registries: ['gcr.io', ' '] }), ['gcp: " " names no registry']);
  assert.deepEqual(provider.validate({ registries: ['gcr.io'], credentialsSecret: { name: '', namespace: 'x', key: '' } }),
    ['gcp: credentialsSecret needs name and namespace', 'gcp: credentialsSecret.key must not be empty']);
});

credentialProviderContract('GCP provider with a fake auth client', () => {
  const good = fakeFactory(() => ({ token: 'ya29.contract-token', expiry: Date.UTC(2025, 0, 1, 1) }));
  const failing = fakeFactory(() => Object.assign(new Error(`denied ${PRIVATE_KEY}`), { response: { status: 403, data: { error: 'access_denied' } } }));
  return Promise.resolve({
    provider: new GcpProvider({ authFactory: good.factory, clock }), source: withKey, secret: { 'credentials.json': KEY_JSON },
    failing: { provider: new GcpProvider({ authFactory: failing.factory, clock }), source: withKey, secret: { 'credentials.json': KEY_JSON } },
    secretValues: [KEY_JSON, PRIVATE_KEY, 'MIIfakefakefake'], placement: ['registries' as const],
  });
});
