import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EcrSource, GcpSource, ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { CloudSourceResolver } from '../../../../src/controller/decide/cloud-sources.ts';
import type { SourceSecrets } from '../../../../src/controller/watch/source-secrets.ts';
import { TokenCache, type CredentialProvider } from '../../../../src/credentials/index.ts';
import { FakeClock } from '../../../../src/util/clock.ts';

test('a credentials key named like an Object.prototype property is missing unless the Secret has it', async () => {
  const seen: unknown[] = [];
  const gcp: CredentialProvider<GcpSource> = {
    kind: 'GCP', validate: () => [], identity: () => 'gcp', retarget: () => [],
    fetch: (_source, secret) => { seen.push(secret); return Promise.resolve({ entries: [], expiresAt: new Date(0) }); },
  };
  const secrets = { get: () => ({ kind: 'found', secret: { metadata: { name: 'k', namespace: 'ns' }, data: { other: 'eA==' } } }) };
  const clock = new FakeClock();
  const resolver = new CloudSourceResolver(secrets as unknown as SourceSecrets, { gcp }, new TokenCache({ clock }));
  for (const key of ['constructor', 'toString', '__proto__']) {
    const ips = { metadata: { name: 'r' }, spec: { registry: { gcp: [{ registries: ['gcr.io'], credentialsSecret: { name: 'k', namespace: 'ns', key } }] },
      target: { secret: { name: 's' } } } } as ImagePullSecret;
    const [outcome] = await resolver.resolve(ips, clock.now());
    assert.equal(outcome?.error, `Secret ns/k has no key ${key}`, key);
  }
  assert.deepEqual(seen, []);
});

test('a source shows the fetch and expiry of the token it received, never those of another resource sharing the identity', async () => {
  const clock = new FakeClock();
  let failing = false;
  // One identity for every source; the login can be written for account 111111111111 only.
  const ecr: CredentialProvider<EcrSource> = {
    kind: 'ECR', validate: () => [], identity: () => 'shared',
    retarget: (source, fetched) => {
      if (source.accountIDs?.[0] !== '111111111111') throw new Error(`no login for account ${source.accountIDs?.[0] ?? ''}`);
      return fetched.entries;
    },
    fetch: () => (failing ? Promise.reject(new Error('ECR GetAuthorizationToken failed: throttled'))
      : Promise.resolve({ entries: [{ registry: '111111111111.dkr.ecr.eu-west-1.amazonaws.com', auth: 'dTpw' }], expiresAt: new Date(clock.nowMs() + 3600_000) })),
  };
  const resolver = new CloudSourceResolver({ get: () => ({ kind: 'missing' }) } as unknown as SourceSecrets, { ecr }, new TokenCache({ clock, jitter: 0 }));
  const ips = (name: string, account: string) => ({ metadata: { name }, spec: { registry: { ecr: [{ region: 'eu-west-1', accountIDs: [account] }] },
    target: { secret: { name: 's' } } } }) as ImagePullSecret;
  const resolveOne = async (r: ImagePullSecret) => {
    resolver.beginRound(r.metadata.name);
    const [outcome] = await resolver.resolve(r, clock.now());
    assert.ok(outcome);
    return outcome;
  };

  const fetchedAt = clock.now();
  const a = await resolveOne(ips('a', '111111111111'));
  assert.equal(a.entries.length, 1);
  assert.deepEqual([a.lastRefreshTime, a.expiresAt], [fetchedAt, new Date(fetchedAt.getTime() + 3600_000)]);

  // The same token cannot be written for b's account: b received nothing, so it shows no times.
  const b = await resolveOne(ips('b', '222222222222'));
  assert.deepEqual(b.entries, []);
  assert.match(b.error ?? '', /no login for account 222222222222/);
  assert.equal(b.lastRefreshTime, undefined);
  assert.equal(b.expiresAt, undefined);

  // The token expires and refreshes fail: a resource created now never received a token either.
  failing = true;
  clock.advance(2 * 3600_000);
  const c = await resolveOne(ips('c', '111111111111'));
  assert.deepEqual(c.entries, []);
  assert.equal(c.lastRefreshTime, undefined);
  assert.equal(c.expiresAt, undefined);
  // a still says when its own token was fetched and when it expired.
  const again = await resolveOne(ips('a', '111111111111'));
  assert.deepEqual([again.lastRefreshTime, again.expiresAt], [fetchedAt, new Date(fetchedAt.getTime() + 3600_000)]);
});
