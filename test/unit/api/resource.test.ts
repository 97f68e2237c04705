import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLive, olderFirst } from '../../../src/api/v1alpha1/resource.ts';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';

const ips = (name: string, creationTimestamp?: string, deletionTimestamp?: string) =>
  ({ metadata: { name, creationTimestamp, deletionTimestamp } }) as ImagePullSecret;

test('olderFirst orders by creationTimestamp, then by name', () => {
  const sorted = [ips('b', '2026-01-02T00:00:00Z'), ips('c', '2026-01-01T00:00:00Z'), ips('a', '2026-01-02T00:00:00Z'), ips('b', '2026-01-01T00:00:00Z')]
    .sort(olderFirst).map((r) => `${r.metadata.name}@${r.metadata.creationTimestamp?.slice(8, 10) ?? ''}`);
  assert.deepEqual(sorted, ['b@01', 'c@01', 'a@02', 'b@02']);
  assert.equal(olderFirst(ips('a', 'x'), ips('a', 'x')), 0);
});

test('isLive holds for a resource that exists and is not being deleted', () => {
  assert.equal(isLive(ips('a')), true);
  assert.equal(isLive(ips('a', undefined, '2026-01-01T00:00:00Z')), false);
  assert.equal(isLive(undefined), false);
});
