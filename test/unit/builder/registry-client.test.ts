import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { checkManifest, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseChallenge, RegistryError, type FetchLike } from '../../../src/builder/registry-client.ts';
import { realmProblem, requestToken } from '../../../src/builder/registry-token.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { OutboundPolicy } from '../../../src/util/outbound.ts';

interface Call { url: string; method: string; headers: Record<string, string>; body?: string }
interface Reply { status: number; headers?: Record<string, string>; body?: string | Buffer | Iterable<Buffer> }

/** A scripted registry: answers from `respond`, records every request. */
function fakeFetch(respond: (call: Call) => Reply): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = (url, init) => {
    const call: Call = { url, method: init.method, headers: init.headers, ...(init.body === undefined ? {} : { body: init.body }) };
    calls.push(call);
    const r = respond(call);
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return Promise.resolve({ status: r.status, headers: { get: (n: string) => headers.get(n.toLowerCase()) ?? null }, body: r.body === undefined ? null : Readable.from(typeof r.body === 'string' || Buffer.isBuffer(r.body) ? [Buffer.from(r.body)] : r.body) });
  };
  return { fetch, calls };
}

/** The realm of these tests lives on auth.r.io, beside the registry r.io: --outbound-hosts lists it. */
const AUTH_R_IO = new OutboundPolicy({ hosts: ['auth.r.io'] });
const entry = { registry: 'r.io', auth: Buffer.from('user:pw').toString('base64'), username: 'user', password: 'pw' };
const DIGEST = `sha256:${'b'.repeat(64)}`;

test('WWW-Authenticate challenges parse into scheme and parameters', () => {
  const parse = (h: string) => { const c = parseChallenge(h); return { scheme: c.scheme, params: { ...c.params } }; };
  assert.deepEqual(parse('Bearer realm="https://auth.r.io/token",service="r.io",scope="repository:a/b:pull,push"'),
    { scheme: 'bearer', params: { realm: 'https://auth.r.io/token', service: 'r.io', scope: 'repository:a/b:pull,push' } });
  assert.deepEqual(parse('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } });
  assert.deepEqual(parse(''), { scheme: '', params: {} });
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
  assert.deepEqual(await checkManifest({ host: 'r.io', repository: 'a/b', reference: 'v1', entry, fetch, outbound: AUTH_R_IO }), { exists: true, digest: DIGEST });
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

test('the GET body is hashed as bytes, not as decoded text', async () => {
  const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]); // not valid UTF-8: decoding would change the bytes
  const { fetch } = fakeFetch((c) => (c.method === 'HEAD' ? { status: 200 } : { status: 200, body }));
  const result = await checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch });
  assert.deepEqual(result, { exists: true, digest: `sha256:${createHash('sha256').update(body).digest('hex')}` });
});

test('a manifest body past 4 MiB is refused naming the cap, and is not read further', async () => {
  let produced = 0;
  function* endless(): Generator<Buffer> {
    for (;;) {
      produced += 1024 * 1024;
      yield Buffer.alloc(1024 * 1024, 0x20);
    }
  }
  const streamed = fakeFetch((c) => (c.method === 'HEAD' ? { status: 200 } : { status: 200, body: endless() }));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: streamed.fetch }),
    /^RegistryError: the manifest is larger than 4 MiB: the registry at r\.io sent more than registries accept$/);
  assert.ok(produced <= MAX_MANIFEST_BYTES + 2 * 1024 * 1024, `read ${produced} bytes`);
  const declared = fakeFetch((c) => (c.method === 'HEAD' ? { status: 200 } : { status: 200, headers: { 'Content-Length': String(MAX_MANIFEST_BYTES + 1) }, body: 'x' }));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: declared.fetch }), /larger than 4 MiB/);
  const exact = fakeFetch((c) => (c.method === 'HEAD' ? { status: 200 } : { status: 200, body: Buffer.alloc(MAX_MANIFEST_BYTES, 0x20) }));
  assert.equal((await checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch: exact.fetch })).exists, true);
});

test('a token is asked for every scope at once, and its lifetime comes from the answer', async () => {
  const { fetch, calls } = fakeFetch(() => ({ status: 200, body: JSON.stringify({ token: 't', expires_in: 300, issued_at: '2030-01-01T00:00:00Z' }) }));
  const got = await requestToken(fetch, { realm: 'https://auth.r.io/token', service: 'r.io' }, entry,
    ['repository:a:pull,push', 'repository:b/c:pull,push'], AbortSignal.timeout(1000), { registry: 'r.io', outbound: AUTH_R_IO, clock: new FakeClock(Date.parse('2030-01-01T00:00:10Z')) });
  assert.equal(got.token, 't');
  assert.equal(got.expiresAt.toISOString(), '2030-01-01T00:05:00.000Z');
  assert.deepEqual(new URL(calls[0]?.url ?? '').searchParams.getAll('scope'), ['repository:a:pull,push', 'repository:b/c:pull,push']);
  const short = fakeFetch(() => ({ status: 200, body: JSON.stringify({ token: 't' }) }));
  const now = Date.parse('2030-01-01T00:00:00Z');
  assert.equal((await requestToken(short.fetch, { realm: 'https://r.io/token' }, entry, ['repository:a:pull'], AbortSignal.timeout(1000), { registry: 'r.io', clock: new FakeClock(now) })).expiresAt.getTime(), now + 60_000);
});

test('realms: the registry\'s own host and port, a public registry\'s known token service, or a host --outbound-hosts lists', () => {
  const listed = new OutboundPolicy({ hosts: ['auth.corp.example', '127.0.0.1:5001'] });
  const ANOTHER_HOST = 'the registry asked for a token from a realm on another host, which --outbound-hosts does not list';
  const cases: [string, string, string | undefined, string | undefined][] = [
    // realm, registry, problem by default, problem with the hosts above
    ['https://r.io/token', 'r.io', undefined, undefined],
    ['https://r.io:5000/token', 'r.io:5000', undefined, undefined],
    ['https://r.io:5001/token', 'r.io:5000', ANOTHER_HOST, ANOTHER_HOST],
    ['https://r.io:443/token', 'r.io', undefined, undefined],
    ['https://auth.docker.io/token', 'registry-1.docker.io', undefined, undefined],
    ['https://auth.docker.io/token', 'r.io', ANOTHER_HOST, ANOTHER_HOST],
    ['https://gitlab.com/jwt/auth', 'registry.gitlab.com', undefined, undefined],
    ['https://auth.corp.example/token', 'registry.corp.example', ANOTHER_HOST, undefined],
    ['https://127.0.0.1:5001/token', 'r.io', ANOTHER_HOST, undefined],
    ['https://127.0.0.1:15000/admin', 'r.io', ANOTHER_HOST, ANOTHER_HOST],
    ['https://169.254.169.254/latest/meta-data', 'r.io', ANOTHER_HOST, ANOTHER_HOST],
    ['http://r.io/token', 'r.io', 'the registry asked for a token from a non-https realm', 'the registry asked for a token from a non-https realm'],
    ['https://u:p@r.io/token', 'r.io', 'the registry asked for a token from a non-https realm', 'the registry asked for a token from a non-https realm'],
    ['not a url', 'r.io', 'the registry asked for a token from an invalid realm', 'the registry asked for a token from an invalid realm'],
  ];
  for (const [realm, registry, byDefault, withHosts] of cases) {
    assert.equal(realmProblem(realm, registry), byDefault, `${realm} for ${registry}`);
    assert.equal(realmProblem(realm, registry, listed), withHosts, `${realm} for ${registry} with --outbound-hosts`);
  }
});

test('a realm on another host is never asked: no request, and the answer names no realm', async () => {
  const { fetch, calls } = fakeFetch(() => ({ status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="https://127.0.0.1:15000/admin",service="r.io"' } }));
  await assert.rejects(checkManifest({ host: 'r.io', repository: 'a', reference: 'x', entry, fetch }), (err: unknown) => {
    assert.ok(err instanceof RegistryError);
    assert.equal(err.message, 'the registry asked for a token from a realm on another host, which --outbound-hosts does not list');
    return true;
  });
  assert.deepEqual(calls.map((c) => c.url), ['https://r.io/v2/a/manifests/x'], 'only the registry itself');
});
