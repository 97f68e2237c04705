// The per-resource and per-source gauges are read from the sample at every scrape: what the sample holds
// is exported, and a resource that left the sample leaves no series behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerResourceCollectors, type ResourceSample } from '../../../src/metrics/collectors.ts';
import { Metrics } from '../../../src/metrics/metrics.ts';

test('token expiry and refresh timestamps are exported per source, and vanish with the resource', async () => {
  const metrics = new Metrics();
  let samples: ResourceSample[] = [{
    name: 'platform', managedSecrets: 2, ready: 1, conflicts: 0,
    sources: [
      { reference: 'GCP gcr.io', kind: 'GCP', expiresAt: new Date(7_200_000), lastRefreshTime: new Date(3_600_000) },
      { reference: 'registry-access/dockerhub', kind: 'Secret' },
    ],
  }];
  registerResourceCollectors(metrics, () => samples);
  const labels = 'imagepullsecret="platform",source="GCP gcr.io",kind="GCP"';
  const text = await metrics.registry.metrics();
  assert.ok(text.includes(`pullsecret_sync_token_expiry_timestamp_seconds{${labels}} 7200\n`), text);
  assert.ok(text.includes(`pullsecret_sync_token_refresh_timestamp_seconds{${labels}} 3600\n`), text);
  assert.ok(!text.includes('source="registry-access/dockerhub"'), 'a source without a token has no timestamp series');
  assert.ok(text.includes('pullsecret_sync_managed_secrets{imagepullsecret="platform"} 2\n'));
  samples = [];
  const after = await metrics.registry.metrics();
  assert.ok(!after.includes('imagepullsecret="platform"'), 'a deleted resource leaves no stale series');
});
