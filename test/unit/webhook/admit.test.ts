import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImagePullSecret } from '../../../src/api/v1alpha1/types.ts';
import { admit, type AdmissionPort } from '../../../src/webhook/admit.ts';
import { desiredConfiguration, drifted } from '../../../src/webhook/configuration.ts';

interface Answer { response: { uid: string; allowed: boolean; patch?: string } }

function review(over: { namespace?: string; labels?: Record<string, string>; pullSecrets?: string[]; dryRun?: boolean; kind?: string } = {}): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: 'u-1', kind: { group: '', version: 'v1', kind: over.kind ?? 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE', namespace: over.namespace ?? 'team-a', dryRun: over.dryRun ?? false,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: { metadata: { labels: over.labels ?? {} },
        spec: { containers: [{ name: 'c', image: 'r.io/app' }], ...(over.pullSecrets ? { imagePullSecrets: over.pullSecrets.map((name) => ({ name })) } : {}) } },
    },
  };
}

const ips = (name: string, secret: string, inject = true): ImagePullSecret => ({
  apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret', metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { registry: { credentials: [{ name: 'hub', namespace: 'src' }] }, target: { namespaces: { names: ['team-a'] }, secret: { name: secret }, pods: { inject } } },
});

function port(written: string[] = []): AdmissionPort & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    ownNamespace: 'pullsecret-sync', asked,
    namespace: (name) => (name === 'gone' ? undefined : { metadata: { name } }),
    resources: () => [ips('a', 'regcred'), ips('b', 'other'), ips('c', 'off', false)],
    unwritten: (_ns, secrets) => {
      asked.push([...secrets]);
      return ['a', 'b'].filter((r) => secrets.includes(r === 'a' ? 'regcred' : 'other') && !written.includes(r));
    },
  };
}

const patchOf = (body: unknown): unknown => {
  const patch = (body as Answer).response.patch;
  return patch === undefined ? undefined : JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
};

test('a mutated or present pod hurries the resources whose Secret the namespace lacks; a dry run hurries nothing', () => {
  const mutated = admit(review(), port(['a']));
  assert.equal(mutated.status, 200);
  assert.equal(mutated.outcome, 'mutated');
  assert.deepEqual(patchOf(mutated.body), [{ op: 'add', path: '/spec/imagePullSecrets', value: [{ name: 'other' }, { name: 'regcred' }] }]);
  assert.deepEqual(mutated.hurry, [{ resource: 'b', namespace: 'team-a' }]);

  const present = admit(review({ pullSecrets: ['other', 'regcred'] }), port());
  assert.equal(present.outcome, 'present', 'the rule\'s already_present is counted as present');
  assert.equal(patchOf(present.body), undefined);
  assert.equal(present.hurry.length, 2);

  const dry = admit(review({ dryRun: true }), port());
  assert.deepEqual(dry.body, admit(review(), port()).body, 'a dry run is answered the same');
  assert.deepEqual(dry.hurry, []);

  const p = port();
  const elsewhere = admit(review({ namespace: 'team-b' }), p);
  assert.equal(elsewhere.outcome, 'not_selected');
  assert.deepEqual(elsewhere.hurry, []);
  assert.deepEqual(p.asked, [], 'nothing is looked up for a pod nothing selects');
  assert.equal(admit(review({ namespace: 'kube-system' }), port()).outcome, 'opted_out');
});

test('a body that is not a review is a 400 with a message; another kind is an allowed review, unchanged', () => {
  for (const body of [null, 'text', 42, {}, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }]) {
    const a = admit(body, port());
    assert.equal(a.status, 400, JSON.stringify(body));
    assert.equal(a.outcome, 'error');
    assert.equal(typeof (a.body as { message: unknown }).message, 'string');
  }
  const other = admit(review({ kind: 'Deployment' }), port());
  assert.equal(other.status, 200);
  assert.equal(other.outcome, 'error');
  assert.equal((other.body as Answer).response.allowed, true);
  assert.equal(patchOf(other.body), undefined);
  const broken: AdmissionPort = { ...port(), unwritten: () => { throw new Error('boom'); } };
  const a = admit(review(), broken);
  assert.equal(a.outcome, 'mutated', 'a failing hurry lookup does not change the answer');
  assert.deepEqual(a.hurry, []);
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
