import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit, type AdmissionPort, type Injection } from '../../../src/webhook/admit.ts';
import { desiredConfiguration, drifted } from '../../../src/webhook/configuration.ts';

interface Answer { response: { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: { message: string } } }

function review(over: { namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; pullSecrets?: string[];
  dryRun?: boolean; username?: string; kind?: string; operation?: string } = {}): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'u-1', kind: { group: '', version: 'v1', kind: over.kind ?? 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      operation: over.operation ?? 'CREATE', namespace: over.namespace ?? 'team-a', dryRun: over.dryRun ?? false,
      userInfo: { username: over.username ?? 'system:serviceaccount:kube-system:replicaset-controller' },
      object: { metadata: { labels: over.labels ?? {}, annotations: over.annotations ?? {} },
        spec: { containers: [{ name: 'c', image: 'r.io/app' }], ...(over.pullSecrets ? { imagePullSecrets: over.pullSecrets.map((name) => ({ name })) } : {}) } },
    },
  };
}

function port(injections: Injection[], nsLabels: Record<string, string> = {}): AdmissionPort {
  return {
    namespace: (name) => (name === 'gone' ? undefined : { name, labels: nsLabels, annotations: {} }),
    injections: () => injections,
  };
}

const ctx = (p: AdmissionPort) => ({ port: p, ownNamespace: 'pullsecret-sync' });
const patchOf = (body: unknown): unknown => {
  const patch = (body as Answer).response.patch;
  return patch === undefined ? undefined : JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
};

test('a pod in a selected namespace gets each missing entry appended, in order, never twice', () => {
  const p = port([{ resource: 'a', secret: 'regcred', written: true }, { resource: 'b', secret: 'other', written: false }]);
  const none = admit(review(), ctx(p));
  assert.equal(none.outcome, 'mutated');
  assert.deepEqual(patchOf(none.body), [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'regcred' }, { name: 'other' }] }]);
  assert.deepEqual(none.hurry, [{ resource: 'b', namespace: 'team-a' }]);

  const some = admit(review({ pullSecrets: ['mine', 'regcred'] }), ctx(p));
  assert.equal(some.outcome, 'mutated');
  assert.deepEqual(patchOf(some.body), [{ op: 'add', path: '/spec/imagePullSecrets/-', value: { name: 'other' } }]);

  const all = admit(review({ pullSecrets: ['other', 'regcred'] }), ctx(p));
  assert.equal(all.outcome, 'present');
  assert.equal(patchOf(all.body), undefined);
  assert.equal((all.body as Answer).response.allowed, true);
});

test('pods the webhook must never touch come back without a patch, whatever resources say', () => {
  const p = port([{ resource: 'a', secret: 'regcred', written: true }]);
  const cases: [string, unknown, string][] = [
    ['kube-system', review({ namespace: 'kube-system' }), 'not_selected'],
    ['own namespace', review({ namespace: 'pullsecret-sync' }), 'not_selected'],
    ['mirror pod', review({ annotations: { 'kubernetes.io/config.mirror': 'x' } }), 'not_selected'],
    ['a node creates it', review({ username: 'system:node:n1' }), 'not_selected'],
    ['pod opted out', review({ labels: { 'pullsecret-sync.dev/inject': 'false' } }), 'opted_out'],
  ];
  for (const [name, body, outcome] of cases) {
    const a = admit(body, ctx(p));
    assert.equal(a.outcome, outcome, name);
    assert.equal(patchOf(a.body), undefined, name);
    assert.equal((a.body as Answer).response.allowed, true, name);
  }
  const nsOut = admit(review(), ctx(port([{ resource: 'a', secret: 'regcred', written: true }], { 'pullsecret-sync.dev/inject': 'false' })));
  assert.equal(nsOut.outcome, 'opted_out');
  assert.equal(admit(review(), ctx(port([]))).outcome, 'not_selected');
});

test('a dry run gets the same answer and hurries nothing', () => {
  const p = port([{ resource: 'a', secret: 'regcred', written: false }]);
  const real = admit(review(), ctx(p));
  const dry = admit(review({ dryRun: true }), ctx(p));
  assert.deepEqual(dry.body, real.body);
  assert.deepEqual(dry.hurry, []);
  assert.equal(real.hurry.length, 1);
});

test('bad bodies and other kinds are refused clearly, never thrown', () => {
  for (const body of [null, 'text', 42, {}, { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
    { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 7 } }]) {
    const a = admit(body, ctx(port([])));
    assert.equal(a.status, 400, JSON.stringify(body));
    assert.equal(a.outcome, 'error');
    assert.match((a.body as { message: string }).message, /AdmissionReview/);
  }
  const p = port([{ resource: 'a', secret: 'regcred', written: true }]);
  for (const body of [review({ kind: 'Deployment' }), review({ operation: 'UPDATE' })]) {
    const a = admit(body, ctx(p));
    assert.equal(a.status, 200);
    assert.equal(a.outcome, 'error');
    assert.equal(patchOf(a.body), undefined);
    assert.match((a.body as Answer).response.status?.message ?? '', /not mutated/);
  }
  const throwing: AdmissionPort = { namespace: () => { throw new Error('boom'); }, injections: () => [] };
  const a = admit(review(), ctx(throwing));
  assert.equal(a.outcome, 'error');
  assert.equal((a.body as Answer).response.allowed, true);
  assert.equal(admit(review({ namespace: 'gone' }), ctx(p)).outcome, 'error', 'a namespace the cache lacks is not guessed');
});

test('the configuration never selects kube-system or the daemon\'s namespace, fails open, and notices drift', () => {
  const settings = { name: 'ps.ns', namespace: 'ps', target: { service: 'ps', port: 9443 }, caBundle: 'PEM', timeoutSeconds: 2 };
  const c = desiredConfiguration(settings, ['regcred', 'a\'b']);
  const hook = c.webhooks[0] as Record<string, unknown>;
  assert.equal(hook.failurePolicy, 'Ignore');
  assert.equal(hook.sideEffects, 'None');
  assert.equal(hook.reinvocationPolicy, 'IfNeeded');
  assert.equal(hook.timeoutSeconds, 2);
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.deepEqual((hook.namespaceSelector as { matchExpressions: unknown[] }).matchExpressions[0],
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'ps'] });
  const conditions = hook.matchConditions as { name: string; expression: string }[];
  assert.match(conditions.find((m) => m.name === 'lacks-an-entry')?.expression ?? '', /\['a\\'b', 'regcred'\]/);
  assert.equal(drifted(JSON.parse(JSON.stringify(c)) as typeof c, c), false);
  const edited = JSON.parse(JSON.stringify(c)) as { webhooks: { failurePolicy: string }[]; metadata: typeof c.metadata };
  edited.webhooks[0]!.failurePolicy = 'Fail';
  assert.equal(drifted(edited, c), true);
  assert.equal(drifted(undefined, c), true);
});
