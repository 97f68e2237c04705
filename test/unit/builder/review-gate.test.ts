import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReviewGate, ReviewShed } from '../../../src/builder/review-gate.ts';
import { FakeClock } from '../../../src/util/clock.ts';

test('reviews in flight are bounded over all callers; a release makes room', () => {
  const gate = new ReviewGate({ maxInFlight: 2, qps: 1000, burst: 1000, refusedTtlMs: 1000 }, new FakeClock(0));
  const a = gate.admit();
  gate.admit();
  assert.throws(() => gate.admit(), (err: unknown) => err instanceof ReviewShed && err.reason === 'in_flight' && err.retryAfterS === 1);
  a();
  a(); // a second release of the same review changes nothing
  assert.equal(gate.active, 1);
  gate.admit();
  assert.throws(() => gate.admit(), ReviewShed);
});

test('reviews started per second are bounded, with a burst, refilled by time', () => {
  const clock = new FakeClock(0);
  const gate = new ReviewGate({ maxInFlight: 0, qps: 2, burst: 3, refusedTtlMs: 1000 }, clock);
  for (let i = 0; i < 3; i++) gate.admit()();
  assert.throws(() => gate.admit(), (err: unknown) => err instanceof ReviewShed && err.reason === 'rate');
  clock.advance(500);
  gate.admit()();
  assert.throws(() => gate.admit(), ReviewShed);
});

test('refused tokens are remembered by hash for the TTL only', () => {
  const clock = new FakeClock(0);
  const gate = new ReviewGate({ maxInFlight: 1, qps: 1, burst: 1, refusedTtlMs: 10_000 }, clock);
  gate.refuse('h1');
  assert.equal(gate.wasRefused('h1'), true);
  assert.equal(gate.wasRefused('h2'), false);
  clock.advance(10_001);
  assert.equal(gate.wasRefused('h1'), false);
  const off = new ReviewGate({ maxInFlight: 1, qps: 1, burst: 1, refusedTtlMs: 0 }, clock);
  off.refuse('h1');
  assert.equal(off.wasRefused('h1'), false);
});
