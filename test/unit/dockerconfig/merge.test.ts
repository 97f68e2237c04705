import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataHash, mergeContributions, serialize } from '../../../src/dockerconfig/merge.ts';
import type { AuthEntry } from '../../../src/dockerconfig/parse.ts';

const entry = (registry: string, auth: string): AuthEntry => ({ registry, auth });

test('first source in spec order wins a registry; later ones are shadowed', () => {
  const cases = [
    { name: 'disjoint', in: [['A', ['a.io']], ['B', ['b.io']]], winners: { 'a.io': 'A', 'b.io': 'B' }, shadowed: [] },
    { name: 'shared', in: [['A', ['r.io']], ['B', ['r.io']]], winners: { 'r.io': 'A' }, shadowed: [['r.io', 'A', 'B']] },
    { name: 'reversed', in: [['B', ['r.io']], ['A', ['r.io']]], winners: { 'r.io': 'B' }, shadowed: [['r.io', 'B', 'A']] },
    { name: 'three', in: [['A', ['r.io']], ['B', ['r.io', 'b.io']], ['C', ['r.io']]], winners: { 'r.io': 'A', 'b.io': 'B' },
      shadowed: [['r.io', 'A', 'B'], ['r.io', 'A', 'C']] },
    { name: 'empty source', in: [['A', []], ['B', ['r.io']]], winners: { 'r.io': 'B' }, shadowed: [] },
  ] as const;
  for (const c of cases) {
    const merged = mergeContributions(c.in.map(([source, regs]) => ({ source, entries: regs.map((r) => entry(r, source)) })));
    const winners = Object.fromEntries(Object.entries(merged.config.auths).map(([k, v]) => [k, v.auth]));
    assert.deepEqual(winners, c.winners, c.name);
    assert.deepEqual(merged.shadowed.map((s) => [s.registry, s.winner, s.loser]), c.shadowed, c.name);
  }
});

test('equal input gives equal bytes whatever the order of keys', () => {
  const a = serialize(mergeContributions([{ source: 'A', entries: [entry('z.io', 'z'), entry('a.io', 'a')] }]).config);
  const b = serialize(mergeContributions([{ source: 'A', entries: [entry('a.io', 'a'), entry('z.io', 'z')] }]).config);
  assert.equal(a, b);
  assert.equal(a, '{"auths":{"a.io":{"auth":"a"},"z.io":{"auth":"z"}}}');
  assert.equal(dataHash(a), dataHash(b));
  assert.match(dataHash(a), /^sha256:[0-9a-f]{64}$/);
});

test('entry fields are written sorted, registry dropped', () => {
  const bytes = serialize(mergeContributions([{ source: 'A', entries: [{ registry: 'r.io', username: 'u', password: 'p', auth: 'x', email: 'e' }] }]).config);
  assert.equal(bytes, '{"auths":{"r.io":{"auth":"x","email":"e","password":"p","username":"u"}}}');
});

test('a registry key named like an Object.prototype property is written like any other', () => {
  const merged = mergeContributions([{ source: 'A', entries: [entry('__proto__', 'p'), entry('constructor', 'c')] }]);
  assert.equal(serialize(merged.config), '{"auths":{"__proto__":{"auth":"p"},"constructor":{"auth":"c"}}}');
});
