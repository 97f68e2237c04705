import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthenticationUnavailable, Authenticator, DEFAULT_CACHE_TTL_MS, serviceAccountOf } from '../../../src/builder/authn.ts';
import { InFlightLimiter, KeyedRateLimiter } from '../../../src/builder/rate-limit.ts';
import { KubeApiError, type RequestSpec } from '../../../src/kube/rest.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { unsignedJwt as jwt } from '../../support/fake-clouds/jwt.ts';

function fakeRest(status: object | Error): { rest: { call: <T>(spec: RequestSpec) => Promise<T> }; specs: RequestSpec[] } {
  const specs: RequestSpec[] = [];
  return {
    specs,
    rest: {
      call: <T>(spec: RequestSpec): Promise<T> => {
        specs.push(spec);
        return status instanceof Error ? Promise.reject(status) : Promise.resolve({ status } as T);
      },
    },
  };
}

test('only system:serviceaccount:<ns>:<name> usernames are ServiceAccounts', () => {
  assert.deepEqual(serviceAccountOf('system:serviceaccount:ci:kaniko'), { namespace: 'ci', name: 'kaniko' });
  for (const u of [undefined, 'admin', 'system:serviceaccount:ci', 'system:serviceaccount:ci:a:b', 'system:serviceaccount::x', 'system:node:n1']) {
    assert.equal(serviceAccountOf(u), undefined, String(u));
  }
});

test('TokenReview asks for the audience and accepts only an echoed audience', async () => {
  const ok = { authenticated: true, user: { username: 'system:serviceaccount:ci:kaniko' }, audiences: ['pullsecret-sync'] };
  const cases: [object, boolean, string][] = [
    [ok, true, 'accepted'],
    [{ ...ok, audiences: ['other'] }, false, 'other audience'],
    [{ ...ok, audiences: undefined }, false, 'no audiences'],
    [{ ...ok, authenticated: false }, false, 'not authenticated'],
    [{ ...ok, user: { username: 'alice' } }, false, 'not a ServiceAccount'],
  ];
  for (const [status, accepted, name] of cases) {
    const { rest, specs } = fakeRest(status);
    const authn = new Authenticator({ rest, audience: 'pullsecret-sync', clock: new FakeClock() });
    assert.equal((await authn.authenticate('tok')) !== undefined, accepted, name);
    assert.deepEqual((specs[0]?.body as { spec: unknown }).spec, { token: 'tok', audiences: ['pullsecret-sync'] });
  }
});

test('positive answers are cached for at most the TTL and never past the token exp', async () => {
  const clock = new FakeClock(0);
  const { rest, specs } = fakeRest({ authenticated: true, user: { username: 'system:serviceaccount:ci:k' }, audiences: ['a'] });
  const authn = new Authenticator({ rest, audience: 'a', clock, cacheTtlMs: 60_000 });
  const longLived = jwt({ exp: 3600 });
  await authn.authenticate(longLived);
  await authn.authenticate(longLived);
  assert.equal(specs.length, 1);
  clock.advance(60_001);
  await authn.authenticate(longLived);
  assert.equal(specs.length, 2);

  const shortLived = jwt({ exp: clock.nowMs() / 1000 + 5 });
  await authn.authenticate(shortLived);
  clock.advance(5_001);
  assert.equal(authn.isCached(shortLived), false);
  await authn.authenticate(shortLived);
  assert.equal(specs.length, 4);
});

test('the cache holds answers 3 s by default; revoking a ServiceAccount drops its answers and refuses its UID', async () => {
  const clock = new FakeClock(0);
  let username = 'system:serviceaccount:ci:k';
  let uid = 'uid-k';
  const rest = { call: <T>(): Promise<T> => Promise.resolve({ status: { authenticated: true, user: { username, uid }, audiences: ['a'] } } as T) };
  const authn = new Authenticator({ rest, audience: 'a', clock });
  const k = jwt({ exp: 3600, n: 1 });
  const other = jwt({ exp: 3600, n: 2 });
  await authn.authenticate(k);
  username = 'system:serviceaccount:ci:other';
  uid = 'uid-other';
  await authn.authenticate(other);
  clock.advance(2999);
  assert.equal(authn.isCached(k), true);
  clock.advance(2);
  assert.equal(authn.isCached(k), false, `default TTL is ${DEFAULT_CACHE_TTL_MS} ms`);
  await authn.authenticate(other);
  username = 'system:serviceaccount:ci:k';
  uid = 'uid-k';
  await authn.authenticate(k);
  assert.equal(authn.isCached(k) && authn.isCached(other), true);
  authn.revoke({ namespace: 'ci', name: 'k', uid: 'uid-k' });
  assert.equal(authn.isCached(k), false);
  assert.equal(authn.isCached(other), true);
  // The API server may go on accepting the deleted ServiceAccount's token for a while; its UID is refused.
  assert.equal(await authn.authenticate(k), undefined);
  uid = 'uid-k-recreated';
  assert.deepEqual(await authn.authenticate(jwt({ exp: 3600, n: 3 })), { namespace: 'ci', name: 'k' }, 'a re-created ServiceAccount works');
});

test('in-flight limits hold per key and release once', () => {
  const limiter = new InFlightLimiter(2);
  const a1 = limiter.tryAcquire('a');
  const a2 = limiter.tryAcquire('a');
  assert.ok(a1 && a2);
  assert.equal(limiter.tryAcquire('a'), undefined);
  assert.ok(limiter.tryAcquire('b'));
  a1();
  a1();
  const a3 = limiter.tryAcquire('a');
  assert.ok(a3);
  assert.equal(limiter.tryAcquire('a'), undefined, 'a double release frees one slot, not two');
});

test('a failing TokenReview is "unavailable", with no token in the message', async () => {
  const { rest } = fakeRest(new KubeApiError(403, 'Forbidden', 'tokenreviews is forbidden'));
  const authn = new Authenticator({ rest, audience: 'a' });
  await assert.rejects(authn.authenticate('secret-token'), (err: unknown) => {
    assert.ok(err instanceof AuthenticationUnavailable);
    assert.equal(err.message, 'TokenReview failed with HTTP 403');
    return true;
  });
});

test('the keyed rate limiter allows a burst per key, then qps', () => {
  const clock = new FakeClock(0);
  const limiter = new KeyedRateLimiter({ qps: 2, burst: 3 }, clock);
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.tryTake('a')), [true, true, true, false]);
  assert.equal(limiter.tryTake('b'), true);
  clock.advance(500);
  assert.deepEqual([limiter.tryTake('a'), limiter.tryTake('a')], [true, false]);
  assert.equal(new KeyedRateLimiter({ qps: 0, burst: 0 }, clock).tryTake('x'), true);
});
