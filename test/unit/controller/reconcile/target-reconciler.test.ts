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
import { IMPS_OWNER_UID_LABEL } from '../../../../src/controller/decide/imps-adoption.ts';

const ips = {
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
  metadata: { name: 'platform', uid: 'uid-1', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { registry: {}, target: { secret: { name: 'pull' } } },
} as ImagePullSecret;
const ns: MetadataObject = { metadata: { name: 'team-a' } };

/** Another resource wanting the same Secret name, `created` when. */
const twin = (name: string, created: string) =>
  ({ ...ips, metadata: { name, uid: `uid-${name}`, creationTimestamp: created } }) as ImagePullSecret;

/** Secret `pull` in team-a, owned by resource `owner`. */
const heldBy = (owner: string) =>
  ({ metadata: { name: 'pull', namespace: 'team-a', labels: { 'pullsecret-sync.dev/owner': owner } }, intact: true }) as ManagedSecret;

/** `platform` rendered, nothing else recorded. */
function renderedState(): ControllerState {
  const state = new ControllerState();
  state.of('platform').rendered = payloadOf('{"auths":{}}');
  return state;
}

/** Watch caches holding namespace team-a, `resources`, and `secrets` as our Secrets in team-a. */
function cachesOf(resources: ImagePullSecret[], secrets: ManagedSecret[]): Caches {
  return {
    namespaces: { store: { get: (name: string) => (name === 'team-a' ? ns : undefined) } },
    imagePullSecrets: { store: { get: (name: string) => resources.find((r) => r.metadata.name === name), list: () => resources[Symbol.iterator]() } },
    managedSecrets: { store: { byIndex: (): ManagedSecret[] => secrets } },
  } as unknown as Caches;
}

/**
 * A target whose watch cache holds no Secret in `team-a` yet, while the API server already has one of
 * that name: `live` says whether it carries our managed-by label.
 */
function lagging(live: 'ours' | 'theirs' | 'imps' | 'imps-other-type', adoptImpsSecrets = false) {
  const calls: string[] = [];
  const watched: string[] = [];
  const state = renderedState();
  const caches = cachesOf([ips], []);
  const writes = {
    createSecret: (s: Secret) => { calls.push(`create ${s.metadata.namespace}/${s.metadata.name}`); return Promise.reject(new KubeApiError(409, 'AlreadyExists', 'exists')); },
    isManagedSecret: (namespace: string, name: string) => { calls.push(`check ${namespace}/${name}`); return Promise.resolve(live === 'ours'); },
    secretMetadata: (namespace: string, name: string) => {
      calls.push(`read ${namespace}/${name}`);
      return Promise.resolve({ name, namespace, resourceVersion: '7', ...(live.startsWith('imps') ? { labels: { [IMPS_OWNER_UID_LABEL]: 'imps-uid' },
        ownerReferences: [{ apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret', name: 'platform', uid: 'imps-uid' }] } : {}) });
    },
    replaceSecret: (s: Secret) => {
      calls.push(`replace ${s.metadata.namespace}/${s.metadata.name}@${s.metadata.resourceVersion ?? ''}`);
      return live === 'imps-other-type' ? Promise.reject(new KubeApiError(422, 'Invalid', 'type: field is immutable')) : Promise.resolve(s);
    },
  } as unknown as Writes;
  const deps: TargetDeps = {
    caches, state, writes,
    selection: { selects: () => true },
    serviceAccounts: { sync: () => { calls.push('serviceaccounts'); return Promise.resolve(); } } as unknown as TargetDeps['serviceAccounts'],
    statusChanged: () => undefined,
    foreign: { watch: (_n, _ns, secret) => { watched.push(secret); }, release: () => undefined },
    adoptImpsSecrets,
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

/**
 * Right after a restart: `platform` has rendered, an older resource `elder` wanting the same Secret name
 * has not yet. `held` says whether the Secret in team-a is already elder's.
 */
function afterRestart(held: boolean) {
  const calls: string[] = [];
  const state = renderedState();
  const caches = cachesOf([ips, twin('elder', '2025-01-01T00:00:00Z')], held ? [heldBy('elder')] : []);
  const record = (verb: string) => (s: Secret) => { calls.push(`${verb} ${s.metadata.name}`); return Promise.resolve(s); };
  const writes = { createSecret: record('create'), replaceSecret: record('replace'), deleteSecret: record('delete') } as unknown as Writes;
  const deps: TargetDeps = {
    caches, state, writes, selection: { selects: () => true },
    serviceAccounts: { sync: () => Promise.resolve(), remove: () => Promise.resolve() } as unknown as TargetDeps['serviceAccounts'],
    statusChanged: () => undefined,
    foreign: { watch: () => undefined, release: () => undefined },
  };
  return { deps, calls, state };
}

test('a younger resource waits for an older one that has not rendered yet, and writes nothing', async () => {
  const { deps, calls, state } = afterRestart(false);
  await reconcileTarget(deps, 'platform', 'team-a');
  assert.deepEqual(calls, []);
  assert.equal(state.of('platform').conflicts.size, 0);
});

test("a younger resource yields a Secret the older one already holds, before the older one rendered", async () => {
  const { deps, calls, state } = afterRestart(true);
  await reconcileTarget(deps, 'platform', 'team-a');
  assert.deepEqual(calls, [], 'the older resource\'s Secret is not overwritten');
  assert.equal(state.of('platform').conflicts.get('team-a'), 'ImagePullSecret/elder');
});

test("with adoption on, IMPS's Secret for this resource is replaced in place; a foreign one stays a Conflict", async () => {
  const imps = lagging('imps', true);
  await reconcileTarget(imps.deps, 'platform', 'team-a');
  assert.deepEqual(imps.calls, ['create team-a/pull', 'read team-a/pull', 'replace team-a/pull@7', 'serviceaccounts']);
  assert.equal(imps.state.of('platform').conflicts.size, 0);
  const theirs = lagging('theirs', true);
  await reconcileTarget(theirs.deps, 'platform', 'team-a');
  assert.deepEqual(theirs.calls, ['create team-a/pull', 'read team-a/pull']);
  assert.equal(theirs.state.of('platform').conflicts.get('team-a'), UNMANAGED);
  const refused = lagging('imps-other-type', true);
  await reconcileTarget(refused.deps, 'platform', 'team-a');
  assert.equal(refused.state.of('platform').conflicts.get('team-a'), UNMANAGED, 'a Secret that cannot become ours stays a Conflict, not a retried WriteError');
  const off = lagging('imps');
  await reconcileTarget(off.deps, 'platform', 'team-a');
  assert.deepEqual(off.calls, ['create team-a/pull', 'check team-a/pull']);
  assert.equal(off.state.of('platform').conflicts.get('team-a'), UNMANAGED);
});

/**
 * `platform` does not select team-a; `neighbour`, wanting the same Secret name, does (`neighbourSelects`)
 * and its Secret is in the watch cache or not yet (`cached`).
 */
function sharedName(neighbourSelects: boolean, cached: boolean) {
  const removals: string[] = [];
  const deps: TargetDeps = {
    caches: cachesOf([ips, twin('neighbour', '2026-02-01T00:00:00Z')], cached ? [heldBy('neighbour')] : []), state: renderedState(), writes: {} as Writes,
    selection: { selects: (resource) => resource.metadata.name === 'neighbour' && neighbourSelects },
    serviceAccounts: { sync: (resource: ImagePullSecret, namespace: string, selected: boolean) => {
      removals.push(`${resource.metadata.name} ${namespace} ${String(selected)}`);
      return Promise.resolve();
    } } as unknown as TargetDeps['serviceAccounts'],
    statusChanged: () => undefined,
    foreign: { watch: () => undefined, release: () => undefined },
  };
  return { deps, removals };
}

test("a resource that does not select a namespace leaves the ServiceAccount entry of another resource's Secret of the same name", async () => {
  for (const [neighbourSelects, cached] of [[true, true], [true, false], [false, true]] as const) {
    const { deps, removals } = sharedName(neighbourSelects, cached);
    await reconcileTarget(deps, 'platform', 'team-a');
    assert.deepEqual(removals, [], `neighbour selects: ${String(neighbourSelects)}, its Secret cached: ${String(cached)}`);
  }
  const alone = sharedName(false, false);
  await reconcileTarget(alone.deps, 'platform', 'team-a');
  assert.deepEqual(alone.removals, ['platform team-a false'], 'with no other holder, an entry of ours left behind is taken back');
});
