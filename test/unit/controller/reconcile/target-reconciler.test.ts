import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../../src/api/v1alpha1/types.ts';
import { payloadOf } from '../../../../src/controller/decide/desired-secret.ts';
import { ControllerState } from '../../../../src/controller/reconcile/state.ts';
import { reconcileTarget, UNMANAGED, type TargetDeps } from '../../../../src/controller/reconcile/target-reconciler.ts';
import type { Caches } from '../../../../src/controller/watch/caches.ts';
import type { ManagedSecret } from '../../../../src/controller/watch/managed-secret.ts';
import type { MetadataObject, Secret } from '../../../../src/kube/objects.ts';
import { KubeApiError } from '../../../../src/kube/rest.ts';
import type { Writes } from '../../../../src/kube/writes.ts';

const ips = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
  metadata: { name: 'platform', uid: 'uid-1', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { registry: {}, target: { secret: { name: 'pull' } } },
} as ImagePullSecret;
const ns: MetadataObject = { metadata: { name: 'team-a' } };

/**
 * A target whose watch cache holds no Secret in `team-a` yet, while the API server already has one of
 * that name: `live` says whether it carries our managed-by label.
 */
function lagging(live: 'ours' | 'theirs') {
  const calls: string[] = [];
  const watched: string[] = [];
  const state = new ControllerState();
  state.of('platform').rendered = payloadOf('{"auths":{}}');
  const caches = {
    namespaces: { store: { get: (name: string) => (name === 'team-a' ? ns : undefined) } },
    imagePullSecrets: { store: { get: (name: string) => (name === 'platform' ? ips : undefined), list: () => [ips][Symbol.iterator]() } },
    managedSecrets: { store: { byIndex: (): ManagedSecret[] => [] } },
  } as unknown as Caches;
  const writes = {
    createSecret: (s: Secret) => { calls.push(`create ${s.metadata.namespace}/${s.metadata.name}`); return Promise.reject(new KubeApiError(409, 'AlreadyExists', 'exists')); },
    isManagedSecret: (namespace: string, name: string) => { calls.push(`check ${namespace}/${name}`); return Promise.resolve(live === 'ours'); },
  } as unknown as Writes;
  const deps: TargetDeps = {
    caches, state, writes,
    selection: { selects: () => true },
    serviceAccounts: { sync: () => { calls.push('serviceaccounts'); return Promise.resolve(); } } as unknown as TargetDeps['serviceAccounts'],
    statusChanged: () => undefined,
    foreign: { watch: (_n, _ns, secret) => { watched.push(secret); }, release: () => undefined },
  };
  return { deps, calls, watched, state };
}

test('a create that finds our own Secret, not yet in the watch cache, is no Conflict', async () => {
  const { deps, calls, watched, state } = lagging('ours');
  await reconcileTarget(deps, 'platform', 'team-a');
  assert.deepEqual(calls, ['create team-a/pull', 'check team-a/pull']);
  assert.equal(state.of('platform').conflicts.size, 0);
  assert.deepEqual(watched, []);
});

test("a create that finds someone else's Secret is a Conflict that waits for that Secret to change", async () => {
  const { deps, calls, watched, state } = lagging('theirs');
  await reconcileTarget(deps, 'platform', 'team-a');
  assert.deepEqual(calls, ['create team-a/pull', 'check team-a/pull']);
  assert.equal(state.of('platform').conflicts.get('team-a'), UNMANAGED);
  assert.deepEqual(watched, ['pull']);
});
