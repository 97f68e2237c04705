// Selectors read label and annotation maps as data: a key that happens to name a property of
// Object.prototype (`constructor`, `toString`, `__proto__`, ...) is present only when the map holds it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { labelMatcher } from '../../../../src/controller/decide/selector.ts';
import type { SelectorRequirement } from '../../../../src/api/v1alpha1/types.ts';

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype);

/** The reference semantics of one requirement, written over a Map so no prototype can interfere. */
function holds(r: SelectorRequirement, labels: Map<string, string>): boolean {
  const value = labels.get(r.key);
  switch (r.operator) {
    case 'In': return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn': return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
  }
}

test('a key named like an Object.prototype property is absent unless the map holds it', () => {
  for (const key of PROTOTYPE_KEYS) {
    assert.equal(labelMatcher({ matchExpressions: [{ key, operator: 'Exists' }] })({}), false, `Exists ${key}`);
    assert.equal(labelMatcher({ matchExpressions: [{ key, operator: 'DoesNotExist' }] })({}), true, `DoesNotExist ${key}`);
    assert.equal(labelMatcher({ matchExpressions: [{ key, operator: 'NotIn', values: ['x'] }] })({}), true, `NotIn ${key}`);
    assert.equal(labelMatcher({ matchExpressions: [{ key, operator: 'In', values: ['x'] }] })(JSON.parse(`{"${key}":"x"}`) as Record<string, string>), true, `In ${key}`);
  }
});

test('matchers agree with the reference semantics on random maps and requirements', () => {
  const key = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS, 'a', 'b'), fc.string({ minLength: 1, maxLength: 3 }));
  const value = fc.constantFrom('x', 'y', '');
  const requirement = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.array(value, { minLength: 1, maxLength: 2 }) }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
  );
  fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 4 }), fc.array(requirement, { maxLength: 3 }), (pairs, reqs) => {
    const labels = new Map(pairs);
    // Built the way JSON.parse builds API objects: every key, __proto__ included, an own property.
    const map = JSON.parse(JSON.stringify(Object.fromEntries(labels))) as Record<string, string>;
    assert.equal(labelMatcher({ matchExpressions: reqs })(map), reqs.every((r) => holds(r, labels)));
  }), { numRuns: 500 });
});
