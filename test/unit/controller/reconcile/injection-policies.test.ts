// The reconcile of a resource's injection policy and bindings, against a stand-in for the API server's
// writes and the watch's cache (the real API server: test/integration/injection-policy.test.ts): bindings
// a resource no longer needs are deleted after the wanted ones are written, and bindings before the policy;
// a binding the API server refuses falls back to one binding for every namespace, told once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret, Target } from '../../../../src/api/v1alpha1/types.ts';
import { InjectionPolicySync } from '../../../../src/controller/reconcile/injection-policies.ts';
import type { InjectionPolicyWatch, LiveAdmissionObject } from '../../../../src/controller/watch/injection-policies.ts';
import { KubeApiError } from '../../../../src/kube/rest.ts';
import type { Writes } from '../../../../src/kube/writes.ts';
import { resource } from '../../admission/support.ts';

interface Stored { metadata: { name: string; uid?: string; labels?: Record<string, string> }; spec?: { matchResources?: { namespaceSelector: { matchLabels?: Record<string, string> } } } }

/** The API server's policies and bindings, its writes, and a watch that is always up to date with them. */
function cluster() {
  const objects = { policies: new Map<string, Stored>(), bindings: new Map<string, Stored>() };
  const calls: string[] = [];
  let uid = 0;
  const kind = (collection: string) => (collection.endsWith('bindings') ? 'bindings' : 'policies');
  const store = (collection: string, obj: Stored) => {
    const stored = { ...obj, metadata: { ...obj.metadata, uid: `uid-${String(++uid)}`, resourceVersion: '1' } };
    objects[kind(collection)].set(obj.metadata.name, stored);
    return Promise.resolve(stored);
  };
  const write = (verb: string) => (collection: string, obj: Stored) => {
    calls.push(`${verb} ${kind(collection)} ${obj.metadata.name}`);
    // A selector the API server refuses: the label `team: refused` stands for one.
    if (obj.spec?.matchResources?.namespaceSelector.matchLabels?.team === 'refused') {
      return Promise.reject(new KubeApiError(422, 'Invalid', 'spec.matchResources.namespaceSelector: Invalid value'));
    }
    return store(collection, obj);
  };
  const writes = {
    createClusterObject: write('create'),
    replaceClusterObject: write('replace'),
    deleteClusterObject: (collection: string, name: string) => {
      calls.push(`delete ${kind(collection)} ${name}`);
      objects[kind(collection)].delete(name);
      return Promise.resolve({});
    },
  } as unknown as Writes;
  const watch = {
    policies: { store: { get: (name: string) => objects.policies.get(name) } },
    bindingsOf: (owner: string) => [...objects.bindings.values()].filter((b) => b.metadata.labels?.['pullsecret-sync.dev/owner'] === owner),
  } as unknown as InjectionPolicyWatch;
  return { objects, calls, writes, sync: new InjectionPolicySync(watch, 'pullsecret-sync') };
}

const ips = (target: Partial<Target>): ImagePullSecret => resource('r', target);
const selectorOf = (b: LiveAdmissionObject | Stored | undefined) => (b?.spec as Stored['spec'])?.matchResources?.namespaceSelector;

test('a rule removed removes its binding after the others are written; the resource gone removes the bindings, then the policy', async () => {
  const { objects, calls, writes, sync } = cluster();
  await sync.sync(writes, 'r', ips({ namespaces: { names: ['a'], labels: [{ matchLabels: { team: 'x' } }] } }));
  assert.deepEqual(calls.splice(0), ['create policies pullsecret-sync-r', 'create bindings pullsecret-sync-r', 'create bindings pullsecret-sync.r.2']);
  await sync.sync(writes, 'r', ips({ namespaces: { names: ['a'], labels: [{ matchLabels: { team: 'x' } }] } }));
  assert.deepEqual(calls.splice(0), [], 'nothing written when all is right');
  await sync.sync(writes, 'r', ips({ namespaces: { labels: [{ matchLabels: { team: 'x' } }] } }));
  assert.deepEqual(calls.splice(0), ['replace policies pullsecret-sync-r', 'replace bindings pullsecret-sync-r', 'delete bindings pullsecret-sync.r.2']);
  assert.deepEqual(selectorOf(objects.bindings.get('pullsecret-sync-r')), { matchLabels: { team: 'x' } });
  await sync.sync(writes, 'r', undefined);
  assert.deepEqual(calls.splice(0), ['delete bindings pullsecret-sync-r', 'delete policies pullsecret-sync-r']);
});

test('a refused binding: one binding for every namespace instead, one Warning, not retried until the selectors change', async () => {
  const { objects, calls, writes, sync } = cluster();
  const reports: string[] = [];
  const report = (_ips: ImagePullSecret, reason: string, message: string) => { reports.push(`${reason}: ${message}`); return Promise.resolve(); };
  const refused = ips({ namespaces: { names: ['a'], labels: [{ matchLabels: { team: 'refused' } }] } });
  await sync.sync(writes, 'r', refused, report);
  assert.deepEqual(calls.splice(0), ['create policies pullsecret-sync-r', 'create bindings pullsecret-sync-r', 'create bindings pullsecret-sync.r.2',
    'replace bindings pullsecret-sync-r']);
  assert.deepEqual([...objects.bindings.keys()], ['pullsecret-sync-r']);
  assert.equal(selectorOf(objects.bindings.get('pullsecret-sync-r')), undefined, 'bound for every namespace');
  assert.equal(reports.length, 1);
  assert.match(reports[0] ?? '', /^InjectionBindingRefused: the API server refused admission policy binding pullsecret-sync\.r\.2: .*Invalid value; the policy is bound for every namespace instead/);
  await sync.sync(writes, 'r', refused, report);
  assert.deepEqual([calls.splice(0), reports.length], [[], 1], 'the next reconcile writes nothing and tells nothing again');

  await sync.sync(writes, 'r', ips({ namespaces: { names: ['a'], labels: [{ matchLabels: { team: 'x' } }] } }), report);
  assert.deepEqual(calls.splice(0), ['replace policies pullsecret-sync-r', 'replace bindings pullsecret-sync-r', 'create bindings pullsecret-sync.r.2']);
  await sync.sync(writes, 'r', refused, report);
  assert.equal(reports.length, 2, 'refused again after a fix: told again');
});
