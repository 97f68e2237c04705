// The builder server end to end in-process: authentication, authorisation, the three handlers against a
// fake access port, and the limits that answer at once (429/503 with Retry-After) instead of queueing.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FetchLike, FetchResponse } from '../../../src/util/fetch.ts';
import type { CredentialScoper } from '../../../src/builder/scoped-credentials.ts';
import { ScopeUnsupported } from '../../../src/builder/scoped-credentials.ts';
import { encodeAuth } from '../../../src/dockerconfig/index.ts';
import { call, fakeAccess, fakeReviews, ips, startTestBuilderServer, type TestBuilderServer } from '../../support/builder-server.ts';

const KANIKO = { namespace: 'ci', name: 'kaniko' };
const LIMITED = { namespace: 'ci', name: 'limited' };
const OUTSIDER = { namespace: 'other', name: 'default' };
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
const entry = (registry: string, password: string) => ({ entry: { registry, username: 'u', password, auth: encodeAuth('u', password) } });
const servers: TestBuilderServer[] = [];

after(async () => { await Promise.all(servers.map((s) => s.close())); });

function world() {
  return fakeAccess([
    ips('open', { serviceAccounts: [KANIKO, { namespace: 'ci', name: 'waiter' }], ecrRepositoryCreation: { enabled: true } }, '2025-01-01T00:00:00Z'),
    ips('fenced', { serviceAccounts: [LIMITED], repositories: ['r.io/team/app'] }, '2025-01-02T00:00:00Z'),
  ], {
    open: { 'r.io': entry('r.io', 'open-pw'), [ECR]: entry(ECR, 'ecr-pw') },
    fenced: { 'r.io': entry('r.io', 'fenced-pw') },
  });
}

const tokens = { kaniko: KANIKO, limited: LIMITED, outsider: OUTSIDER, waiter: { namespace: 'ci', name: 'waiter' } };

async function start(opts: Parameters<typeof startTestBuilderServer>[0]): Promise<TestBuilderServer> {
  const server = await startTestBuilderServer(opts);
  servers.push(server);
  return server;
}

/** Waits (a turn of the event loop at a time, at most 5 s) until `cond` holds. */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('the condition did not hold within 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function response(status: number, headers: Record<string, string> = {}): FetchResponse {
  return { status, headers: { get: (name) => headers[name.toLowerCase()] ?? null }, body: null };
}

test('who may call: no token 401, a refused token 401, a ServiceAccount no resource allows 403', async () => {
  const server = await start({ access: world(), rest: fakeReviews(tokens).rest });
  const body = { serverURL: 'r.io' };
  assert.equal((await call(server, 'POST', '/v1/credentials', { body })).status, 401);
  assert.equal((await call(server, 'POST', '/v1/credentials', { token: 'forged', body })).status, 401);
  const outsider = await call(server, 'POST', '/v1/credentials', { token: 'outsider', body });
  assert.deepEqual([outsider.status, outsider.json], [403, { message: 'no ImagePullSecret allows ServiceAccount other/default' }]);
  assert.equal((await call(server, 'GET', '/v1/ca.crt')).status, 200, 'the CA needs no token');
});

test('credentials: the registry-wide login for an open caller, a scoped token for a limited one, 404 elsewhere', async () => {
  const scoped: unknown[] = [];
  const scoper: CredentialScoper = {
    scope: (req) => {
      scoped.push({ resource: req.ips.metadata.name, host: req.host, repositories: req.repositories });
      if (req.repositories.length === 0) return Promise.reject(new ScopeUnsupported('name the repositories'));
      return Promise.resolve({ token: 'scoped-token', expiresAt: new Date('2030-01-01T00:00:00Z') });
    },
  };
  const server = await start({ access: world(), rest: fakeReviews(tokens).rest, scoper });
  const open = await call(server, 'POST', '/v1/credentials', { token: 'kaniko', body: { serverURL: 'https://r.io' } });
  assert.deepEqual([open.status, open.json], [200, { ServerURL: 'https://r.io', Username: 'u', Secret: 'open-pw' }]);
  const limited = await call(server, 'POST', '/v1/credentials', { token: 'limited', body: { serverURL: 'r.io/team/app' } });
  assert.deepEqual([limited.status, limited.json], [200, { ServerURL: 'r.io/team/app', RegistryToken: 'scoped-token', Repositories: ['team/app'], expiresAt: '2030-01-01T00:00:00.000Z' }]);
  assert.deepEqual(scoped, [{ resource: 'fenced', host: 'r.io', repositories: ['team/app'] }]);
  const neighbour = await call(server, 'POST', '/v1/credentials', { token: 'limited', body: { serverURL: 'r.io/team/appendix' } });
  assert.equal(neighbour.status, 403);
  assert.ok(!neighbour.text.includes('fenced-pw'));
  const unknown = await call(server, 'POST', '/v1/credentials', { token: 'kaniko', body: { serverURL: 'elsewhere.io' } });
  assert.deepEqual([unknown.status, unknown.json], [404, { message: 'no credentials for that registry' }]);
  const bad = await call(server, 'POST', '/v1/credentials', { token: 'kaniko', body: { serverURL: 'ftp://r.io' } });
  assert.equal(bad.status, 400);
});

test('images: a HEAD with the resource\'s credentials; the digest, absence, and registry failures as 502', async () => {
  const seen: string[] = [];
  const fetch: FetchLike = (url, init) => {
    seen.push(`${init.method} ${url} ${init.headers.Authorization ?? ''}`);
    if (url.includes('/missing/')) return Promise.resolve(response(404));
    if (url.includes('/broken/')) return Promise.resolve(response(500));
    return Promise.resolve(response(200, { 'docker-content-digest': 'sha256:abc' }));
  };
  const server = await start({ access: world(), rest: fakeReviews(tokens).rest, fetch });
  const found = await call(server, 'GET', `/v1/images?ref=${encodeURIComponent('r.io/team/app:1')}`, { token: 'kaniko' });
  assert.deepEqual([found.status, found.json], [200, { exists: true, digest: 'sha256:abc' }]);
  assert.deepEqual(seen, [`HEAD https://r.io/v2/team/app/manifests/1 Basic ${encodeAuth('u', 'open-pw')}`]);
  const missing = await call(server, 'GET', `/v1/images?ref=${encodeURIComponent('r.io/missing/app:1')}`, { token: 'kaniko' });
  assert.deepEqual([missing.status, missing.json], [200, { exists: false }]);
  const broken = await call(server, 'GET', `/v1/images?ref=${encodeURIComponent('r.io/broken/app:1')}`, { token: 'kaniko' });
  assert.deepEqual([broken.status, broken.json], [502, { message: 'the registry answered HTTP 500' }]);
  assert.equal((await call(server, 'GET', '/v1/images', { token: 'kaniko' })).status, 400);
});

test('repositories: ECR only, only where creation is enabled', async () => {
  const ensured: string[] = [];
  const ecr = { ensure: (r: { metadata: { name: string } }, host: string, repository: string) => {
    ensured.push(`${r.metadata.name} ${host} ${repository}`);
    return Promise.resolve({ created: true });
  } };
  const server = await start({ access: world(), rest: fakeReviews(tokens).rest, ecr });
  const made = await call(server, 'POST', '/v1/repositories', { token: 'kaniko', body: { ref: `${ECR}/team/app:1` } });
  assert.deepEqual([made.status, made.json], [200, { registry: ECR, repository: 'team/app', created: true }]);
  assert.deepEqual(ensured, [`open ${ECR} team/app`]);
  assert.equal((await call(server, 'POST', '/v1/repositories', { token: 'kaniko', body: { ref: 'r.io/team/app:1' } })).status, 400);
  assert.equal((await call(server, 'POST', '/v1/repositories', { token: 'limited', body: { ref: `${ECR}/team/app:1` } })).status, 403);
});

test('requests in progress per ServiceAccount are bounded: the next one is a 429 with Retry-After, others go on', async () => {
  const { promise: hold, resolve: release } = Promise.withResolvers<undefined>();
  let started = 0;
  const fetch: FetchLike = async () => {
    started++;
    await hold;
    return response(200, { 'docker-content-digest': 'sha256:abc' });
  };
  const server = await start({ access: world(), rest: fakeReviews(tokens).rest, fetch, maxInFlight: 2 });
  const ref = `/v1/images?ref=${encodeURIComponent('r.io/team/app:1')}`;
  const pending = [call(server, 'GET', ref, { token: 'kaniko' }), call(server, 'GET', ref, { token: 'kaniko' })];
  await until(() => started >= 2);
  const third = await call(server, 'GET', ref, { token: 'kaniko' });
  assert.deepEqual([third.status, third.headers['retry-after']], [429, '1']);
  assert.match(String(third.json.message), /in progress from ServiceAccount ci\/kaniko/);
  const other = call(server, 'GET', ref, { token: 'waiter' });
  await until(() => started >= 3);
  release(undefined);
  for (const res of [...await Promise.all(pending), await other]) assert.equal(res.status, 200);
  assert.equal((await call(server, 'GET', ref, { token: 'kaniko' })).status, 200, 'the slots were released');
});

test('TokenReviews in flight are bounded over all callers: the rest are a 503 with Retry-After at once', async () => {
  const reviews = fakeReviews(tokens);
  const { promise: hold, resolve: release } = Promise.withResolvers<undefined>();
  reviews.gate = hold;
  const server = await start({ access: world(), rest: reviews.rest, reviewLimits: { maxInFlight: 3, qps: 1000, burst: 1000, refusedTtlMs: 10_000 } });
  const body = { serverURL: 'r.io' };
  const held = Array.from({ length: 3 }, (_, i) => call(server, 'POST', '/v1/credentials', { token: `bad-${String(i)}`, body }));
  await until(() => reviews.reviews() >= 3);
  const shed = await Promise.all(Array.from({ length: 5 }, (_, i) => call(server, 'POST', '/v1/credentials', { token: `more-${String(i)}`, body })));
  for (const res of shed) assert.deepEqual([res.status, res.headers['retry-after']], [503, '1']);
  assert.equal(reviews.reviews(), 3, 'nothing queued behind the reviews in flight');
  release(undefined);
  reviews.gate = undefined;
  for (const res of await Promise.all(held)) assert.equal(res.status, 401);
  assert.ok(server.results.filter(([, r]) => r === 'rate_limited').length >= 5, 'shed answers count as rate_limited');
});

test('a refused token is answered 401 without another TokenReview while it is remembered', async () => {
  const reviews = fakeReviews(tokens);
  const server = await start({ access: world(), rest: reviews.rest });
  const body = { serverURL: 'r.io' };
  for (let i = 0; i < 5; i++) assert.equal((await call(server, 'POST', '/v1/credentials', { token: 'forged', body })).status, 401);
  assert.equal(reviews.reviews(), 1);
  assert.ok(!server.logs.join('').includes('forged'), 'the token is not logged');
});
