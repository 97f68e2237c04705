import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toManagedSecret, WrittenBytes } from '../../../../src/controller/watch/managed-secret.ts';
import { dataHash } from '../../../../src/dockerconfig/index.ts';

const secret = (owner: string, bytes: string, hash = dataHash(bytes)) => ({
  metadata: { name: 'pull', namespace: `ns-${bytes.length}`, labels: { 'pullsecret-sync.dev/owner': owner },
    annotations: { 'pullsecret-sync.dev/data-hash': hash } },
  type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(bytes).toString('base64') },
});

test('one copy of the bytes per resource, served only while one of its Secrets still carries them intact', () => {
  const written = new WrittenBytes();
  const first = toManagedSecret(secret('a', '{"auths":{}}'));
  assert.equal(first.secret.intact, true);
  written.observe(first.secret, first.bytes);
  assert.equal(written.of('a', [first.secret]), '{"auths":{}}');
  const tampered = toManagedSecret(secret('a', '{"auths":{"x":{}}}', dataHash('{"auths":{}}')));
  assert.equal(tampered.secret.intact, false);
  assert.equal(tampered.bytes, undefined);
  written.observe(tampered.secret, tampered.bytes);
  assert.equal(written.of('a', [tampered.secret]), undefined, 'no intact Secret carries the held bytes');
  assert.equal(written.of('a', []), undefined);
  assert.equal(written.of('b', [first.secret]), undefined);
});
