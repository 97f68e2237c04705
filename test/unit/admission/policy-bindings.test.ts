// The bindings of a resource's injection policy: which namespace selectors a target compiles to, their
// names, and, for random targets and namespaces, that every namespace the daemon's selection selects is
// bound by at least one of them (the bindings are a prefilter; the policy's CEL decides).
// test/integration/injection-policy.test.ts has the API server store and apply them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { LabelSelector, SelectorRequirement, Target } from '../../../src/api/v1alpha1/types.ts';
import { bindingSelectors, injectionBindingName } from '../../../src/admission/policy-bindings.ts';
import { desiredInjection } from '../../../src/admission/policy.ts';
import { compileTarget, selectNamespace } from '../../../src/controller/decide/selection.ts';
import { bindsNamespace, resource } from './support.ts';

const NAME = 'kubernetes.io/metadata.name';

test('names and label selectors: one binding each, the label ones leaving the named namespaces to the first, and those of an earlier single-requirement selector to it', () => {
  const objects = desiredInjection(resource('r', { namespaces: { names: ['b', 'a', 'b'], labels: [{ matchLabels: { team: 'x' } }, { matchLabels: { team: 'x' } },
    { matchExpressions: [{ key: 'env', operator: 'Exists' }] }] } }), 'pullsecret-sync');
  assert.ok(objects);
  assert.deepEqual(objects.bindings.map((b) => b.metadata.name), ['pullsecret-sync-r', 'pullsecret-sync.r.2', 'pullsecret-sync.r.3']);
  assert.deepEqual(objects.bindings.map((b) => b.spec), [
    { policyName: 'pullsecret-sync-r', matchResources: { matchPolicy: 'Equivalent', objectSelector: {},
      namespaceSelector: { matchExpressions: [{ key: NAME, operator: 'In', values: ['a', 'b'] }] } } },
    { policyName: 'pullsecret-sync-r', matchResources: { matchPolicy: 'Equivalent', objectSelector: {},
      namespaceSelector: { matchLabels: { team: 'x' }, matchExpressions: [{ key: NAME, operator: 'NotIn', values: ['a', 'b'] }] } } },
    { policyName: 'pullsecret-sync-r', matchResources: { matchPolicy: 'Equivalent', objectSelector: {},
      namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }, { key: NAME, operator: 'NotIn', values: ['a', 'b'] },
        { key: 'team', operator: 'NotIn', values: ['x'] }] } } },
  ]);
  for (const b of objects.bindings) assert.deepEqual(b.metadata.labels, { 'app.kubernetes.io/managed-by': 'pullsecret-sync', 'pullsecret-sync.dev/owner': 'r' });
});

test('a label selector another single-requirement one covers gets no binding; one that has several requirements leaves nothing out', () => {
  assert.deepEqual(bindingSelectors({ secret: { name: 's' }, namespaces: { labels: [
    { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] }, { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }, { key: 'env', operator: 'Exists' }] },
    { matchLabels: { env: 'a', team: 'y' } }, { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['a'] }] }] } }), [
    { matchExpressions: [{ key: 'team', operator: 'In', values: ['x'] }] },
    { matchLabels: { env: 'a', team: 'y' }, matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] },
    { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['a'] }, { key: 'team', operator: 'NotIn', values: ['x'] }] },
  ]);
});

test('selectors in the form the API server stores them: no empty map or list, no values for Exists', () => {
  assert.deepEqual(bindingSelectors({ secret: { name: 's' }, namespaces: { labels: [{ matchLabels: {}, matchExpressions: [{ key: 'a', operator: 'Exists', values: [] }] }] } }),
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }]);
});

test('one binding without a selector for annotation or pod rules or an empty label selector; none when nothing is selected', () => {
  const catchAll = (target: Partial<Target>) => {
    const objects = desiredInjection(resource('r', target), 'pullsecret-sync');
    assert.deepEqual(objects?.bindings.map((b) => [b.metadata.name, b.spec]), [['pullsecret-sync-r', { policyName: 'pullsecret-sync-r' }]], JSON.stringify(target));
  };
  catchAll({ namespaces: { names: ['a'], annotations: [{ matchAnnotations: { x: 'y' } }] } });
  catchAll({ namespaces: { names: ['a'] }, namespacesWithPods: { labels: [{ matchLabels: { app: 'web' } }] } });
  catchAll({ namespacesWithPods: { annotations: [{}] } });
  catchAll({ namespaces: { labels: [{ matchLabels: { team: 'x' } }, {}] } });
  assert.deepEqual(desiredInjection(resource('r', { namespaces: {} }), 'pullsecret-sync')?.bindings, []);
});

test('binding names: distinct for distinct resources and indexes, even where a resource is named like another\'s binding', () => {
  fc.assert(fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,8}[a-z0-9])?$/), fc.nat(4), fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,8}[a-z0-9])?$/), fc.nat(4),
    (r1, i1, r2, i2) => {
      fc.pre(r1 !== r2 || i1 !== i2);
      assert.notEqual(injectionBindingName(r1, i1), injectionBindingName(r2, i2));
    }));
  assert.notEqual(injectionBindingName('app', 1), injectionBindingName('app-2', 0));
  assert.notEqual(injectionBindingName('app', 1), injectionBindingName('app.2', 0));
});

// Small pools, so that random selectors and namespaces meet often.
const KEYS = ['env', 'team', 'constructor'];
const NAMESPACES = ['a', 'b', 'c'];
const mapOf = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), fc.constantFrom('x', 'y'), { maxKeys: 2 })
  .map((m) => JSON.parse(JSON.stringify(m)) as Record<string, string>);
const map = mapOf(KEYS);
/** A namespace's or pod's own labels: `__proto__` too, which no selector may name. */
const objectMap = mapOf([...KEYS, '__proto__']);
const requirement: fc.Arbitrary<SelectorRequirement> = fc.oneof(
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(fc.constantFrom('x', 'y'), { minLength: 1, maxLength: 2 }) }),
  fc.record({ key: fc.constantFrom(...KEYS, NAME), operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);
const selector: fc.Arbitrary<LabelSelector> = fc.record({ matchLabels: map, matchExpressions: fc.array(requirement, { maxLength: 2 }) }, { requiredKeys: [] });
const target: fc.Arbitrary<Target> = fc.record({
  namespaces: fc.record({ names: fc.array(fc.constantFrom(...NAMESPACES), { maxLength: 3 }), labels: fc.array(selector, { maxLength: 3 }),
    annotations: fc.array(selector.map((s) => ({ matchAnnotations: s.matchLabels, matchExpressions: s.matchExpressions })), { maxLength: 1 }) }, { requiredKeys: [] }),
  namespacesWithPods: fc.record({ labels: fc.array(selector, { maxLength: 1 }) }, { requiredKeys: [] }),
}, { requiredKeys: [] }).map((t) => ({ ...t, secret: { name: 's' } }));
const selectable = (name: string, labels: Record<string, string>, annotations: Record<string, string>) => ({ name, labels, annotations });

test('property: a namespace the daemon\'s selection selects is bound by at least one binding; a named one, or one of single-requirement selectors, by one', () => {
  fc.assert(fc.property(target, fc.constantFrom(...NAMESPACES), objectMap, objectMap, objectMap, (t, name, labels, annotations, podLabels) => {
    const compiled = compileTarget(t);
    assert.ok(compiled.ok, JSON.stringify(compiled));
    const ns = selectable(name, { ...labels, [NAME]: name }, annotations);
    const selected = selectNamespace(compiled.value, ns, [selectable('p', podLabels, {})]).selected;
    const ips = resource('r', t);
    const bound = desiredInjection(ips, 'pullsecret-sync')?.bindings.filter((b) => bindsNamespace(b, ns.labels)) ?? assert.fail('no policy');
    if (selected) assert.ok(bound.length > 0, 'selected, yet no binding binds it');
    if (!bindingSelectors(t)) return;
    if (t.namespaces?.names?.includes(name)) assert.equal(bound.length, 1, 'a named namespace runs the policy once');
    const requirements = (s: LabelSelector) => Object.keys(s.matchLabels ?? {}).length + (s.matchExpressions?.length ?? 0);
    if ((t.namespaces?.labels ?? []).every((s) => requirements(s) === 1)) assert.ok(bound.length <= 1, 'single-requirement selectors: at most one binding each');
  }), { numRuns: 2000 });
});

const singleSelector: fc.Arbitrary<LabelSelector> = fc.oneof(
  fc.record({ k: fc.constantFrom(...KEYS), v: fc.constantFrom('x', 'y') }).map(({ k, v }) => ({ matchLabels: JSON.parse(JSON.stringify({ [k]: v })) as Record<string, string> })),
  requirement.map((r) => ({ matchExpressions: [r] })),
);

test('property: with single-requirement label selectors, every namespace is bound by at most one binding, and a selected one by exactly one', () => {
  fc.assert(fc.property(fc.array(fc.constantFrom(...NAMESPACES), { maxLength: 2 }), fc.array(singleSelector, { minLength: 1, maxLength: 4 }),
    fc.constantFrom(...NAMESPACES), objectMap, (names, labels, name, nsLabels) => {
      const t: Target = { secret: { name: 's' }, namespaces: { names, labels } };
      const compiled = compileTarget(t);
      assert.ok(compiled.ok);
      const ns = selectable(name, { ...nsLabels, [NAME]: name }, {});
      const bound = desiredInjection(resource('r', t), 'pullsecret-sync')?.bindings.filter((b) => bindsNamespace(b, ns.labels)) ?? assert.fail('no policy');
      assert.equal(bound.length, selectNamespace(compiled.value, ns, []).selected ? 1 : 0);
    }), { numRuns: 2000 });
});
