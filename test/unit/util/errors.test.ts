import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorMessage } from '../../../src/util/errors.ts';

test('errorMessage reads Errors, strings and other values', () => {
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage({ code: 1 }), '{"code":1}');
});
