import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../../src/util/json.ts';

test('canonicalJson sorts the keys of every object, keeps array order and own __proto__ keys', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ x: undefined, w: 'v' }), '{"w":"v"}');
  assert.equal(canonicalJson(JSON.parse('{"__proto__":{"b":1,"a":2}}')), '{"__proto__":{"a":2,"b":1}}');
  assert.equal(canonicalJson('text'), '"text"');
});
