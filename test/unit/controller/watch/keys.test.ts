import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipsKey, parseKey, targetKey } from '../../../../src/controller/watch/keys.ts';

test('work keys round-trip and malformed keys are rejected', () => {
  assert.deepEqual(parseKey(ipsKey('a')), { kind: 'ips', name: 'a' });
  assert.deepEqual(parseKey(targetKey('a', 'ns')), { kind: 'target', name: 'a', namespace: 'ns' });
  for (const bad of ['', 'ips', 'ips/', 'ips/a/b', 'target/a', 'target/a/', 'target/a/b/c', 'other/a']) {
    assert.equal(parseKey(bad), undefined, bad);
  }
});
