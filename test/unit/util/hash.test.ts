import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256Hex } from '../../../src/util/hash.ts';

test('sha256Hex is the SHA-256 of text and of bytes, in lowercase hex', () => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(sha256Hex('abc'), abc);
  assert.equal(sha256Hex(Buffer.from('abc')), abc);
});
