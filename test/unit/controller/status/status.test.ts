import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { buildStatus, readyVerdict, type StatusInput } from '../../../../src/controller/status/status.ts';

const ips = (ready?: { reason: string; observedGeneration: number }): ImagePullSecret => ({
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name: 'r', generation: 2 }, spec: { registry: {}, target: { secret: { name: 'pull' } } },
  ...(ready ? { status: { conditions: [{ type: 'Ready', status: 'True', message: '', lastTransitionTime: '', ...ready }] } } : {}),
});

const input = (over: Partial<StatusInput>): StatusInput => ({
  ips: ips(), now: new Date(0), invalid: [], outcomes: [], shadowed: [], rendered: true, managedNamespaces: [],
  conflicts: new Map(), writeErrors: new Map(), ...over,
});

test('Synced only after the writes succeeded: Progressing while namespaces are still to be written', () => {
  assert.deepEqual(readyVerdict(input({ pendingTargets: 2 })),
    { status: 'Unknown', reason: 'Progressing', message: 'Writing Secret pull to 2 namespace(s)' });
  assert.equal(readyVerdict(input({ pendingTargets: 0 })).reason, 'Synced');
  assert.equal(readyVerdict(input({ pendingTargets: 2, writeErrors: new Map([['ns', 'forbidden']]) })).reason, 'WriteError');
});

test('a resource already Synced at its generation stays Synced while it updates its Secrets', () => {
  assert.equal(readyVerdict(input({ ips: ips({ reason: 'Synced', observedGeneration: 2 }), pendingTargets: 3 })).reason, 'Synced');
  assert.equal(readyVerdict(input({ ips: ips({ reason: 'Synced', observedGeneration: 1 }), pendingTargets: 3 })).reason, 'Progressing');
});

test('a status always fits: lists and messages are bounded however large the source', () => {
  const many = Array.from({ length: 20_000 }, (_, i) => `auths key #${String(i + 1)} names no registry`);
  const entries = Array.from({ length: 20_000 }, (_, i) => ({ registry: `r${String(i)}.example.com`, auth: 'x' }));
  const status = buildStatus(input({
    outcomes: [{ reference: 'Secret ns/big', kind: 'Secret', entries, error: many.join('; ') }],
    shadowed: entries.map((e) => ({ registry: e.registry, winner: 'A', loser: 'Secret ns/big' })),
    managedNamespaces: Array.from({ length: 5000 }, (_, i) => `ns-${String(i)}`),
    conflicts: new Map(Array.from({ length: 5000 }, (_, i) => [`ns-${String(i)}`, 'unmanaged'])),
  }), undefined);
  const size = JSON.stringify(status).length;
  assert.ok(size < 64 * 1024, `status is ${String(size)} bytes`);
  assert.equal(status.sources?.[0]?.registryCount, 20_000);
  const [source] = status.sources ?? [];
  assert.ok((source?.message ?? '').length <= 1024, 'the source message is bounded');
});

test('merged credentials too large for a Secret give TooLarge, naming the size and the limit', () => {
  const verdict = readyVerdict(input({ oversizeBytes: 1_433_612, rendered: false }));
  assert.equal(verdict.status, 'False');
  assert.equal(verdict.reason, 'TooLarge');
  assert.match(verdict.message, /^The merged credentials are 1433612 bytes; a Secret holds at most 1048576 bytes \(1 MiB\)/);
});

test('the largest status any resource can have still fits in one API request', () => {
  // Every list past its bound and every string at its longest: 300 sources, each with 150 registries of
  // 255 characters and as many shadowed spellings, failing with long messages; 5,000 namespaces, conflicts.
  const key = (s: number, i: number) => `r${String(s)}-${String(i)}.example.com/${'p'.repeat(230)}`.slice(0, 255);
  const outcomes = Array.from({ length: 300 }, (_, s) => ({
    reference: `GCP ${Array.from({ length: 50 }, (_, i) => key(s, i)).join(',')}`, kind: 'GCP' as const,
    entries: Array.from({ length: 150 }, (_, i) => ({ registry: key(s, i), auth: 'x' })),
    shadowed: Array.from({ length: 150 }, (_, i) => `${key(s, i)} (auths key #${String(i + 1000)})`),
    error: 'e'.repeat(10_000), expiresAt: new Date(0), lastRefreshTime: new Date(0),
  }));
  const status = buildStatus(input({
    outcomes, managedNamespaces: Array.from({ length: 5000 }, (_, i) => `n${'s'.repeat(55)}-${String(i)}`),
    conflicts: new Map(Array.from({ length: 5000 }, (_, i) => [`n${'s'.repeat(55)}-${String(i)}`, `ImagePullSecret/${'x'.repeat(63)}`])),
  }), undefined);
  const size = Buffer.byteLength(JSON.stringify({ status }));
  assert.ok(size < 1024 * 1024, `status is ${String(size)} bytes`);
  assert.equal(status.sources?.length, 200);
  assert.equal(status.sourceCount, 300);
  assert.equal(status.sources[0]?.registryCount, 150);
  assert.equal(status.sources.flatMap((s) => [...s.registries, ...(s.shadowed ?? [])]).length, 1000);
});
