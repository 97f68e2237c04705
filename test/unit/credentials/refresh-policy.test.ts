import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureBackoff, nextRefresh } from '../../../src/credentials/refresh-policy.ts';

const T0 = Date.UTC(2025, 0, 1);
const at = (ms: number): Date => new Date(T0 + ms);
const HOUR = 3600_000;

test('nextRefresh refreshes at the fraction of the lifetime, spread by jitter', () => {
  const cases: { name: string; lifetime: number; fraction?: number; jitter?: number; random: number; want: number }[] = [
    { name: '12 h token, half, centre', lifetime: 12 * HOUR, random: 0.5, want: 6 * HOUR },
    { name: 'jitter low end', lifetime: 12 * HOUR, random: 0, want: 6 * HOUR * 0.9 },
    { name: 'jitter high end', lifetime: 12 * HOUR, random: 1, want: 6 * HOUR * 1.1 },
    { name: 'fraction 0.8, no jitter', lifetime: HOUR, fraction: 0.8, jitter: 0, random: 0.9, want: 0.8 * HOUR },
    { name: 'jitter never passes the expiry', lifetime: HOUR, fraction: 1, jitter: 0.5, random: 1, want: HOUR },
  ];
  for (const c of cases) {
    const got = nextRefresh({ fetchedAt: at(0), expiresAt: at(c.lifetime), fraction: c.fraction, jitter: c.jitter, random: () => c.random });
    assert.equal(got.getTime(), T0 + Math.round(c.want), c.name);
  }
});

test('nextRefresh never schedules sooner than the floor', () => {
  const got = nextRefresh({ fetchedAt: at(0), expiresAt: at(30_000), random: () => 0.5 });
  assert.equal(got.getTime(), T0 + 60_000, 'a 30 s token waits the 60 s floor');
  const custom = nextRefresh({ fetchedAt: at(0), expiresAt: at(10 * HOUR), floorMs: 8 * HOUR, random: () => 0.5 });
  assert.equal(custom.getTime(), T0 + 8 * HOUR);
});

test('a token that arrives already expired refreshes exactly at the floor, never at once', () => {
  for (const expiresMs of [0, -1, -10 * 365 * 24 * HOUR]) {
    const got = nextRefresh({ fetchedAt: at(0), expiresAt: at(expiresMs), random: () => 0 });
    assert.equal(got.getTime(), T0 + 60_000, String(expiresMs));
  }
  const invalid = nextRefresh({ fetchedAt: at(0), expiresAt: new Date(Number.NaN), floorMs: 5_000 });
  assert.equal(invalid.getTime(), T0 + 5_000, 'an invalid expiry counts as expired');
});

test('nextRefresh rejects options that cannot make sense', () => {
  const bad = [{ fraction: 0 }, { fraction: 1.5 }, { jitter: 1 }, { jitter: -0.1 }, { floorMs: -1 }, { fraction: Number.NaN }];
  for (const opts of bad) {
    assert.throws(() => nextRefresh({ fetchedAt: at(0), expiresAt: at(HOUR), ...opts }), RangeError, JSON.stringify(opts));
  }
});

test('failureBackoff doubles from base to cap, with jitter inside the cap', () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 100, Infinity].map((n) => failureBackoff(n, { jitter: 0 }));
  assert.deepEqual(delays, [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000]);
  assert.equal(failureBackoff(0, { jitter: 0 }), 5_000, 'attempts below 1 count as the first');
  assert.equal(failureBackoff(1, { baseMs: 100, capMs: 1000, jitter: 0.2, random: () => 0 }), 80);
  assert.equal(failureBackoff(9, { baseMs: 100, capMs: 1000, jitter: 0.2, random: () => 1 }), 1000);
  assert.throws(() => failureBackoff(1, { baseMs: 0 }), RangeError);
  assert.throws(() => failureBackoff(1, { baseMs: 10, capMs: 5 }), RangeError);
});
