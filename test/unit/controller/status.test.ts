import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { readyVerdict, type StatusInput } from '../../../src/controller/status.ts';

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
