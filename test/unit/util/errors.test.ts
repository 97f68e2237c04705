import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorMessage, namedErrorMessage, scrub } from '../../../src/util/errors.ts';

test('errorMessage reads Errors, strings and other values', () => {
  assert.equal(errorMessage(new Error('boom')), 'boom');
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorMessage({ code: 1 }), '{"code":1}');
});

test('namedErrorMessage puts an error class name of its own before the message', () => {
  assert.equal(namedErrorMessage(Object.assign(new Error('denied'), { name: 'AccessDenied' })), 'AccessDenied: denied');
  assert.equal(namedErrorMessage(new Error('boom')), 'boom');
  assert.equal(namedErrorMessage('plain'), 'plain');
});

test('scrub replaces every occurrence of each value, the longest first, and leaves values under 4 characters', () => {
  assert.equal(scrub('key abcd-efgh, again abcd-efgh; part abcd', ['abcd', 'abcd-efgh', undefined]),
    'key [redacted], again [redacted]; part [redacted]');
  assert.equal(scrub('a b c abc', ['a', 'abc']), 'a b c abc');
  assert.equal(scrub('nothing to hide', []), 'nothing to hide');
});
