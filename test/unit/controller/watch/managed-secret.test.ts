import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toManagedSecret, WrittenPayloads } from '../../../../src/controller/watch/managed-secret.ts';
import { payloadOf } from '../../../../src/controller/decide/desired-secret.ts';
import { dataHash } from '../../../../src/dockerconfig/index.ts';

const secret = (owner: string, bytes: string, hash = dataHash(bytes)) => ({
  metadata: { name: 'pull', namespace: `ns-${bytes.length}`, labels: { 'pullsecret-sync.dev/owner': owner },
    annotations: { 'pullsecret-sync.dev/data-hash': hash } },
  type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(bytes).toString('base64') },
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('one copy of the payload per resource, served only while one of its Secrets still carries it intact', () => {
  const written = new WrittenPayloads();
  const first = toManagedSecret(secret('a', '{"auths":{}}'));
  assert.equal(first.secret.intact, true);
  written.observe(first.secret, first.data);
  assert.equal(written.of('a', [first.secret]), b64('{"auths":{}}'));
  const tampered = toManagedSecret(secret('a', '{"auths":{"x":{}}}', dataHash('{"auths":{}}')));
  assert.equal(tampered.secret.intact, false);
  assert.equal(tampered.data, undefined);
  written.observe(tampered.secret, tampered.data);
  assert.equal(written.of('a', [tampered.secret]), undefined, 'no intact Secret carries the held bytes');
  assert.equal(written.of('a', []), undefined);
  assert.equal(written.of('b', [first.secret]), undefined);
});

test('a render and the Secrets written from it share one copy of the payload', () => {
  const written = new WrittenPayloads();
  const rendered = payloadOf('{"auths":{"r.io":{"auth":"dTpw"}}}');
  assert.equal(written.share('a', rendered), rendered);
  const event = toManagedSecret(secret('a', '{"auths":{"r.io":{"auth":"dTpw"}}}'));
  written.observe(event.secret, event.data);
  assert.equal(written.share('a', payloadOf('{"auths":{"r.io":{"auth":"dTpw"}}}')), rendered, 'the same payload rendered again is the held copy');
  const next = payloadOf('{"auths":{}}');
  assert.equal(written.share('a', next), next, 'a changed payload replaces the held one');
});
