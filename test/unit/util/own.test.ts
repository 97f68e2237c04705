import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRecord, ownValue } from '../../../src/util/own.ts';

test('isRecord holds for JSON objects only', () => {
  assert.equal(isRecord({}), true);
  assert.equal(isRecord(JSON.parse('{"a":1}')), true);
  for (const v of [null, undefined, [], 'text', 1, true]) assert.equal(isRecord(v), false, JSON.stringify(v));
});

test('ownValue reads own keys only', () => {
  assert.equal(ownValue({ constructor: 'label' }, 'constructor'), 'label');
  assert.equal(ownValue({}, 'constructor'), undefined);
  assert.equal(ownValue(undefined, 'a'), undefined);
});
