import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jwtClaims, jwtExpiryMs } from '../../../src/util/jwt.ts';
import { unsignedJwt as jwt } from '../../support/fake-clouds/jwt.ts';

test('jwtClaims reads the payload of a JWT, and nothing of a token that is not one', () => {
  assert.deepEqual(jwtClaims(jwt({ tid: 'tenant', exp: 100 })), { tid: 'tenant', exp: 100 });
  for (const token of ['opaque-token', 'a..c', 'a.!!!.c', jwt('a string'), jwt(null)]) assert.equal(jwtClaims(token), undefined, token);
});

test('jwtExpiryMs is the exp claim in milliseconds, when it is a positive number', () => {
  assert.equal(jwtExpiryMs(jwt({ exp: 100 })), 100_000);
  for (const claims of [{}, { exp: '100' }, { exp: 0 }, { exp: -5 }]) assert.equal(jwtExpiryMs(jwt(claims)), undefined, JSON.stringify(claims));
  assert.equal(jwtExpiryMs('opaque'), undefined);
});
