import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusFingerprint } from '../../../../src/controller/status/status-diff.ts';

test('time-derived fields alone do not change the fingerprint; everything else does', () => {
  const base = { observedGeneration: 1, managedNamespaceCount: 2, conditions: [{ type: 'Ready', status: 'True' as const, reason: 'Synced', message: 'm', lastTransitionTime: 't' }] };
  assert.equal(statusFingerprint({ ...base, validitySeconds: 5, lastSuccessfulReconciliation: 'a' }),
    statusFingerprint({ ...base, validitySeconds: 9, lastSuccessfulReconciliation: 'b' }));
  assert.equal(statusFingerprint({ managedNamespaceCount: 2, observedGeneration: 1, conditions: base.conditions }), statusFingerprint(base));
  assert.notEqual(statusFingerprint({ ...base, managedNamespaceCount: 3 }), statusFingerprint(base));
  assert.notEqual(statusFingerprint({ ...base, conditions: [{ ...base.conditions[0]!, message: 'other' }] }), statusFingerprint(base));
  assert.equal(statusFingerprint(undefined), '');
});
