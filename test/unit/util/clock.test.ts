import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { FakeClock, realClock, sleep } from '../../../src/util/clock.ts';

const T0 = Date.UTC(2030, 5, 1);

test('FakeClock starts at the given time and moves only through advance()', () => {
  const clock = new FakeClock(new Date(T0));
  assert.equal(clock.nowMs(), T0);
  assert.equal(clock.now().toISOString(), '2030-06-01T00:00:00.000Z');
  clock.advance(1500);
  assert.equal(clock.nowMs(), T0 + 1500);
  assert.equal(new FakeClock().now().toISOString(), '2025-01-01T00:00:00.000Z');
});

test('FakeClock fires due timers in due-time order, creation order on ties, at their due time', () => {
  const clock = new FakeClock(T0);
  const fired: [string, number][] = [];
  const at = (name: string) => () => fired.push([name, clock.nowMs() - T0]);
  clock.setTimeout(at('c'), 300);
  clock.setTimeout(at('a'), 100);
  clock.setTimeout(at('b1'), 200);
  clock.setTimeout(at('b2'), 200);
  clock.setTimeout(at('late'), 1000);
  clock.advance(300);
  assert.deepEqual(fired, [['a', 100], ['b1', 200], ['b2', 200], ['c', 300]]);
  assert.deepEqual(clock.pendingTimers(), [T0 + 1000]);
  assert.equal(clock.nowMs(), T0 + 300);
});

test('FakeClock fires timers scheduled by callbacks within the same advance', () => {
  const clock = new FakeClock(T0);
  const fired: number[] = [];
  clock.setTimeout(() => {
    fired.push(clock.nowMs() - T0);
    clock.setTimeout(() => fired.push(clock.nowMs() - T0), 50);
    clock.setTimeout(() => fired.push(clock.nowMs() - T0), 500);
  }, 100);
  clock.advance(200);
  assert.deepEqual(fired, [100, 150]);
  assert.deepEqual(clock.pendingTimers(), [T0 + 600]);
});

test('FakeClock: cleared timers never fire; negative and NaN delays are due now', () => {
  const clock = new FakeClock(T0);
  let fired = 0;
  const h = clock.setTimeout(() => fired++, 10);
  clock.clearTimeout(h);
  clock.clearTimeout(h);
  clock.setTimeout(() => fired++, -5);
  clock.setTimeout(() => fired++, Number.NaN);
  assert.deepEqual(clock.pendingTimers(), [T0, T0]);
  clock.advance(0);
  assert.equal(fired, 2);
  clock.advance(100);
  assert.equal(fired, 2);
  assert.throws(() => { clock.advance(-1); }, RangeError);
});

test('sleep resolves when the clock reaches the deadline', async () => {
  const clock = new FakeClock(T0);
  let done = false;
  const p = sleep(clock, 1000).then(() => { done = true; });
  clock.advance(999);
  await nextTurn();
  assert.equal(done, false);
  clock.advance(1);
  await p;
  assert.equal(done, true);
});

test('sleep resolves early on abort and leaves no timer behind', async () => {
  const clock = new FakeClock(T0);
  const ac = new AbortController();
  const p = sleep(clock, 60_000, ac.signal);
  assert.equal(clock.pendingTimers().length, 1);
  ac.abort();
  await p;
  assert.deepEqual(clock.pendingTimers(), []);
  await sleep(clock, 60_000, ac.signal);
  assert.deepEqual(clock.pendingTimers(), []);
});

test('realClock reads the system time and runs and clears real timers', async () => {
  const before = Date.now();
  const now = realClock.nowMs();
  assert.ok(now >= before && now <= Date.now());
  assert.ok(Math.abs(realClock.now().getTime() - now) < 1000);
  const fired: string[] = [];
  const cleared = realClock.setTimeout(() => fired.push('cleared'), 0);
  realClock.clearTimeout(cleared);
  await new Promise<void>((resolve) => realClock.setTimeout(() => { fired.push('kept'); resolve(); }, 1));
  assert.deepEqual(fired, ['kept']);
});

test('realClock clamps delays beyond Node\'s timer limit instead of firing after 1 ms', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.name); };
  process.on('warning', onWarning);
  try {
    const h = realClock.setTimeout(() => assert.fail('must not fire'), 2 ** 40);
    await nextTurn();
    realClock.clearTimeout(h);
    await nextTurn();
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});
