import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import type { Caches } from '../../../../src/controller/watch/caches.ts';
import { SelectionCache } from '../../../../src/controller/decide/selection-cache.ts';

test('each problem of an invalid spec is listed once', () => {
  const ips = { metadata: { name: 'r', uid: 'u', generation: 1 }, spec: { registry: { credentials: [{ name: 'a', namespace: 'b' }] },
    target: { secret: { name: 'Not_A_Name' }, namespaces: { labels: [{ matchLabels: { k: 'bad value' } }] } } } } as unknown as ImagePullSecret;
  const problems = new SelectionCache({} as Caches).problems(ips);
  assert.equal(problems.length, 2, problems.join('\n'));
  assert.equal(new Set(problems).size, problems.length);
});
