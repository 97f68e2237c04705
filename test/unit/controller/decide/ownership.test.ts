import assert from 'node:assert/strict';
import { test } from 'node:test';
import { owningResource } from '../../../../src/controller/decide/ownership.ts';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';

const ips = (name: string, created: string) => ({ metadata: { name, creationTimestamp: created } }) as ImagePullSecret;

test('the oldest resource owns a contested Secret; names break ties', () => {
  const a = ips('a', '2026-01-02T00:00:00Z');
  const b = ips('b', '2026-01-01T00:00:00Z');
  const c = ips('c', '2026-01-01T00:00:00Z');
  assert.equal(owningResource([a, b])?.metadata.name, 'b');
  assert.equal(owningResource([a, c, b])?.metadata.name, 'b');
  assert.equal(owningResource([a])?.metadata.name, 'a');
  assert.equal(owningResource([]), undefined);
});
