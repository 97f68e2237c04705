import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkManifest, MANIFEST_ACCEPT, parseChallenge, RegistryError, type FetchLike } from '../../../src/builder/registry-client.ts';

interface Call { url: string; method: string; headers: Record<string, string>; body?: string }
interface Reply { status: number; headers?: Record<string, string>; body?: string }

/** A scripted registry: answers from `respond`, records every request. */
function fakeFetch(respond: (call: Call) => Reply): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = (url, init) => {
    const call: Call = { url, method: init.method, headers: init.headers, ...(init.body === undefined ? {} : { body: init.body }) };
    calls.push(call);
    const r = respond(call);
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return Promise.resolve({ status: r.status, headers: { get: (n: string) => headers.get(n.toLowerCase()) ?? null }, text: () => Promise.resolve(r.body ?? '') });
  };
  return { fetch, calls };
}

const entry = { registry: 'r.io', auth: Buffer.from('user:pw').toString('base64'), username: 'user', password: 'pw' };
const DIGEST = `sha256:${'b'.repeat(64)}`;

test('WWW-Authenticate challenges parse into scheme and parameters', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.r.io/token",service="r.io",scope="repository:a/b:pull,push"'),
    { scheme: 'bearer', params: { realm: 'https://auth.r.io/token', service: 'r.io', scope: 'repository:a/b:pull,push' } });
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.deepEqual(parseChallenge(''), { scheme: '', params: {} });
});

test('Basic registries answer the HEAD directly: digest on 200, absent on 404', async () => {
  const { fetch, calls } = fakeFetch((c) => (c.url.endsWith('/t1') ? { status: 200, headers: { 'Docker-Content-Digest': DIGEST } } : { status: 404 }));
  assert.deepEqual(await checkManifest({ host: 'r.io', repository: 'a/b', reference: 't1', entry, fetch }), { exists: true, digest: DIGEST });
  assert.deepEqual(await checkManifest({ host: 'r.io', repository: 'a/b', reference: 'nope', entry, fetch }), { exists: false });
  const [first] = calls;
  assert.ok(first);
  assert.equal(first.url, 'https://r.io/v2/a/b/manifests/t1');
  assert.equal(first.method, 'HEAD');
  assert.equal(first.headers.Accept, MANIFEST_ACCEPT);
  assert.equal(first.headers.Authorization, `Basic ${entry.auth}`);
  for (const type of ['oci.image.index.v1', 'oci.image.manifest.v1', 'docker.distribution.manifest.list.v2', 'docker.distribution.manifest.v2']) {
    assert.ok(MANIFEST_ACCEPT.includes(`application/vnd.${type}+json`), type);
  }
});

test('a Bearer challenge is answered with a pull-scoped token from the realm', async () => {
  const { fetch, calls } = fakeFetch((c): Reply => {
    if (c.url.startsWith('https://auth.r.io/token')) return { status: 200, body: JSON.stringify({ token: 'registry-token' }) };
    if (c.headers.Authorization === 'Bearer registry-token') return { status: 200, headers: { 'Docker-Content-Digest': DIGEST } };
    return { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="https://auth.r.io/token",service="r.io"' } };
  });
  assert.deepEqual(await checkManifest({ host: 'r.io', repository: 'a/b', reference: 'v1', entry, fetch }), { exists: true, digest: DIGEST });
  const tokenCall = calls[1];
  assert.ok(tokenCall);
  const url = new URL(tokenCall.url);
  assert.equal(url.searchParams.get('service'), 'r.io');
  assert.equal(url.searchParams.get('scope'), 'repository:a/b:pull');
  assert.equal(tokenCall.headers.Authorization, `Basic ${entry.auth}`);
  assert.equal(calls.length, 3);
});

test('identity tokens use the OAuth2 refresh-token grant; realms must be https', async () => {
  const withIdentity = { registry: 'r.io', auth: Buffer.from('<token>:').toString('base64'), identitytoken: 'refresh' };
  const { fetch, calls } = fakeFetch((c): Reply => {
    if (c.method === 'POST') return { status: 200, body: JSON.stringify({ access_token: 'at' }) };
    if (c.headers.Authorization === 'Bearer at') return { status: 404 };
    return { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="https://r.io/oauth2/token",service="r.io"' } };
  });
  assert.deepEqual(await checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry: withIdentity, fetch }), { exists: false });
  const form = new URLSearchParams(calls[1]?.body);
  assert.equal(form.get('grant_type'), 'refresh_token');
  assert.equal(form.get('refresh_token'), 'refresh');

  const plain = fakeFetch(() => ({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="http://evil.example/token"' } }));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: plain.fetch }), /non-https realm/);
  assert.equal(plain.calls.length, 1);
});

test('failures carry HTTP codes, never credentials', async () => {
  const denied = fakeFetch(() => ({ status: 401, headers: { 'WWW-Authenticate': 'Basic realm="x"' }, body: 'secret body pw' }));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: denied.fetch }), (err: unknown) => {
    assert.ok(err instanceof RegistryError);
    assert.equal(err.message, 'the registry answered HTTP 401');
    return true;
  });
  const down: FetchLike = () => Promise.reject(new Error(`connect failed for ${entry.password}`));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: down }), /the registry at r\.io is unreachable$/);
});

test('a HEAD answer without a digest is completed by hashing the GET body', async () => {
  const body = '{"schemaVersion":2}';
  const { fetch } = fakeFetch((c) => (c.method === 'HEAD' ? { status: 200 } : { status: 200, body }));
  const result = await checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch });
  assert.deepEqual(result, { exists: true, digest: 'sha256:' + (await import('node:crypto')).createHash('sha256').update(body).digest('hex') });
});
