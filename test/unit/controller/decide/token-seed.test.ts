import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret, SourceStatus } from '../../../../src/api/v1alpha1/types.ts';
import { tokenSeed } from '../../../../src/controller/decide/token-seed.ts';

const login = { username: 'AWS', password: 'tok', auth: Buffer.from('AWS:tok').toString('base64') };
const host = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';
const payload = Buffer.from(JSON.stringify({ auths: { [host]: login, 'other.io': { auth: Buffer.from('u:p').toString('base64') } } })).toString('base64');
const source: SourceStatus = { reference: 'ECR eu-central-1', kind: 'ECR', registries: [host], identity: 'abc',
  expiresAt: '2026-12-06T20:00:00.000Z', lastRefreshTime: '2026-12-06T08:00:00.000Z' };
const ips = (s: SourceStatus) => ({ metadata: { name: 'r' }, spec: {}, status: { sources: [s] } }) as unknown as ImagePullSecret;

test('the token the Secrets carry is taken with the times the status recorded, for the identity it names', () => {
  const seed = tokenSeed(ips(source), payload, 'ECR eu-central-1', 'abc');
  assert.ok(seed);
  assert.deepEqual(seed.fetched.entries, [{ registry: host, ...login }]);
  assert.equal(seed.fetched.expiresAt.toISOString(), source.expiresAt);
  assert.equal(seed.fetchedAt.toISOString(), source.lastRefreshTime);
  assert.deepEqual(seed.fetched.context, { account: '123456789012' });
});

test('no seed for another identity, a failing source, a registry the Secrets do not carry, or no payload', () => {
  assert.equal(tokenSeed(ips(source), payload, 'ECR eu-central-1', 'rotated'), undefined);
  assert.equal(tokenSeed(ips({ ...source, message: 'denied' }), payload, 'ECR eu-central-1', 'abc'), undefined);
  assert.equal(tokenSeed(ips({ ...source, registries: [host, 'missing.io'] }), payload, 'ECR eu-central-1', 'abc'), undefined);
  assert.equal(tokenSeed(ips({ ...source, lastRefreshTime: undefined }), payload, 'ECR eu-central-1', 'abc'), undefined);
  assert.equal(tokenSeed(ips(source), undefined, 'ECR eu-central-1', 'abc'), undefined);
});

test('a registry the source lost to an earlier one is not read back as its login', () => {
  const seed = tokenSeed(ips({ ...source, registries: [host, 'other.io'], shadowed: ['other.io'] }), payload, 'ECR eu-central-1', 'abc');
  assert.deepEqual(seed?.fetched.entries.map((e) => e.registry), [host]);
});
