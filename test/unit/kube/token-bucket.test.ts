import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { TokenBucket } from '../../../src/kube/token-bucket.ts';
import { FakeClock } from '../../../src/util/clock.ts';

const guard = { timeout: 10_000 };

/** Starts `n` takes and records, per caller, when (ms after `t0`) each was let through or refused. */
function takers(bucket: TokenBucket, clock: FakeClock, n: number, signals: (AbortSignal | undefined)[] = []) {
  const t0 = clock.nowMs();
  const done: { id: number; atMs: number; ok: boolean }[] = [];
  for (let id = 0; id < n; id++) {
    bucket.take(signals[id]).then(
      () => { done.push({ id, atMs: clock.nowMs() - t0, ok: true }); },
      () => { done.push({ id, atMs: clock.nowMs() - t0, ok: false }); },
    );
  }
  return done;
}

async function run(clock: FakeClock, ms: number, stepMs = 10): Promise<void> {
  for (let left = ms; left > 0; left -= stepMs) {
    await nextTurn();
    clock.advance(Math.min(stepMs, left));
  }
  await nextTurn();
}

test('the burst goes through at once, then one request per 1/qps, in arrival order', guard, async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(10, 3, clock);
  const done = takers(bucket, clock, 6);
  await run(clock, 0);
  assert.deepEqual(done.map((d) => d.id), [0, 1, 2]);
  await run(clock, 300);
  assert.deepEqual(done.map((d) => [d.id, d.atMs]), [[0, 0], [1, 0], [2, 0], [3, 100], [4, 200], [5, 300]]);
  assert.deepEqual(clock.pendingTimers(), [], 'no timer left once nobody waits');
});

test('tokens refill up to the burst while idle, never beyond', guard, async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(2, 2, clock);
  takers(bucket, clock, 2);
  await run(clock, 0);
  clock.advance(60_000);
  const done = takers(bucket, clock, 3);
  await run(clock, 500);
  assert.deepEqual(done.map((d) => d.atMs), [0, 0, 500]);
});

test('a waiter whose signal aborts leaves the queue at once, takes no token, and the next one moves up', guard, async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(1, 1, clock);
  const gone = new AbortController();
  const done = takers(bucket, clock, 3, [undefined, gone.signal, undefined]);
  await run(clock, 400);
  gone.abort(new Error('deadline'));
  await run(clock, 0);
  assert.deepEqual(done.map((d) => [d.id, d.atMs, d.ok]), [[0, 0, true], [1, 400, false]]);
  await run(clock, 600);
  assert.deepEqual(done.map((d) => [d.id, d.atMs, d.ok]), [[0, 0, true], [1, 400, false], [2, 1000, true]], 'the third gets the token the second would have had');
});

test('an already aborted signal is refused without waiting or taking a token', guard, async () => {
  const clock = new FakeClock();
  const bucket = new TokenBucket(1, 1, clock);
  const done = takers(bucket, clock, 2, [AbortSignal.abort(new Error('late'))]);
  await run(clock, 0);
  assert.deepEqual(done.map((d) => [d.id, d.ok]), [[0, false], [1, true]]);
});

test('qps 0 means no limit', guard, async () => {
  const clock = new FakeClock();
  const done = takers(new TokenBucket(0, 0, clock), clock, 100);
  await run(clock, 0);
  assert.equal(done.length, 100);
  assert.deepEqual(clock.pendingTimers(), []);
});
