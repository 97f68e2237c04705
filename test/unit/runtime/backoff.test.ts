import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BackoffRateLimiter, DEFAULT_RECONCILE_BACKOFF, exponentialBackoff, type BackoffOptions,
} from '../../../src/runtime/backoff.ts';

test('exponentialBackoff grows by factor per attempt and stops at the cap', () => {
  const cases: { name: string; opts: BackoffOptions; delays: number[] }[] = [
    { name: 'doubling', opts: { baseMs: 100, capMs: 1000, jitter: 0 }, delays: [100, 200, 400, 800, 1000, 1000] },
    { name: 'factor 3', opts: { baseMs: 10, capMs: 500, factor: 3, jitter: 0 }, delays: [10, 30, 90, 270, 500] },
    { name: 'factor 1 is constant', opts: { baseMs: 250, capMs: 250, factor: 1, jitter: 0 }, delays: [250, 250, 250] },
  ];
  for (const c of cases) {
    const backoff = exponentialBackoff(c.opts);
    assert.deepEqual(c.delays.map((_, i) => backoff(i + 1)), c.delays, c.name);
  }
});

test('exponentialBackoff treats attempts below 1 as the first and never overflows', () => {
  const backoff = exponentialBackoff({ baseMs: 100, capMs: 60_000, jitter: 0 });
  for (const attempt of [0, -3, Number.NaN, 0.5]) assert.equal(backoff(attempt), 100, String(attempt));
  for (const attempt of [64, 2000, Number.MAX_SAFE_INTEGER, Infinity]) assert.equal(backoff(attempt), 60_000, String(attempt));
});

test('exponentialBackoff jitter spreads around the raw delay and never exceeds the cap', () => {
  const cases: { random: number; attempt: number; want: number }[] = [
    { random: 0, attempt: 1, want: 80 },        // 100 × (1 − 0.2)
    { random: 0.5, attempt: 1, want: 100 },     // centre
    { random: 0.999999, attempt: 1, want: 120 }, // ≈ 100 × (1 + 0.2)
    { random: 0, attempt: 5, want: 800 },       // 1000 (capped raw) × 0.8
    { random: 0.999999, attempt: 5, want: 1000 }, // 1200 capped
  ];
  for (const c of cases) {
    const backoff = exponentialBackoff({ baseMs: 100, capMs: 1000, jitter: 0.2, random: () => c.random });
    assert.equal(backoff(c.attempt), c.want, JSON.stringify(c));
  }
});

test('exponentialBackoff rejects options that cannot make sense', () => {
  const bad: BackoffOptions[] = [
    { baseMs: 0, capMs: 10 },
    { baseMs: -1, capMs: 10 },
    { baseMs: Number.NaN, capMs: 10 },
    { baseMs: 100, capMs: 50 },
    { baseMs: 100, capMs: 1000, factor: 0.5 },
    { baseMs: 100, capMs: 1000, jitter: 1 },
    { baseMs: 100, capMs: 1000, jitter: -0.1 },
  ];
  for (const opts of bad) assert.throws(() => exponentialBackoff(opts), RangeError, JSON.stringify(opts));
});

test('the default reconcile backoff starts at 100 ms and reaches 5 min after 13 failures', () => {
  const backoff = exponentialBackoff({ ...DEFAULT_RECONCILE_BACKOFF, jitter: 0 });
  assert.equal(backoff(1), 100);
  assert.equal(backoff(12), 204_800);
  assert.equal(backoff(13), 300_000);
});

test('BackoffRateLimiter counts failures per key, grows, caps, and forget resets', () => {
  const limiter = new BackoffRateLimiter({ baseMs: 100, capMs: 1000, jitter: 0 });
  assert.equal(limiter.retries('a'), 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => limiter.when('a')), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(limiter.retries('a'), 6);
  assert.equal(limiter.when('b'), 100, 'keys back off independently');
  limiter.forget('a');
  assert.equal(limiter.retries('a'), 0);
  assert.equal(limiter.when('a'), 100);
  assert.equal(limiter.retries('b'), 1);
});
