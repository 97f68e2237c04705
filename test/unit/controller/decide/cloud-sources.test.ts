import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GcpSource, ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
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
