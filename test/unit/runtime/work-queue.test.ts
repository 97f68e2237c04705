import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { BackoffRateLimiter } from '../../../src/runtime/backoff.ts';
import { WorkQueue, type WorkQueueObserver } from '../../../src/runtime/work-queue.ts';
import { FakeClock } from '../../../src/util/clock.ts';

/** A broken queue shows up as a hang; fail such a test quickly instead. */
const guard = { timeout: 10_000 };

class Counting implements WorkQueueObserver {
  depths: number[] = [];
  addCount = 0;
  retryCount = 0;
  latencies: number[] = [];
  durations: number[] = [];
  depth(n: number): void { this.depths.push(n); }
  adds(): void { this.addCount++; }
  retries(): void { this.retryCount++; }
  latency(ms: number): void { this.latencies.push(ms); }
  workDuration(ms: number): void { this.durations.push(ms); }
}

function setup() {
  const clock = new FakeClock();
  const observer = new Counting();
  const queue = new WorkQueue({
    clock, observer, rateLimiter: new BackoffRateLimiter({ baseMs: 100, capMs: 1000, jitter: 0 }),
  });
  return { clock, observer, queue, t0: clock.nowMs() };
}

/** Takes every ready key (marking each done) without waiting. */
async function takeReady(queue: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    assert.ok(key !== undefined);
    out.push(key);
    queue.done(key);
  }
  return out;
}

/** Tracks whether a promise has settled, without waiting for it. */
function track<T>(p: Promise<T>): { settled: () => boolean; value: () => T | undefined } {
  let settled = false;
  let value: T | undefined;
  void p.then((v) => { settled = true; value = v; });
  return { settled: () => settled, value: () => value };
}

test('add de-duplicates pending keys and hands ready keys out FIFO', guard, async () => {
  const cases: { adds: string[]; want: string[] }[] = [
    { adds: ['a', 'b', 'a', 'c', 'b'], want: ['a', 'b', 'c'] },
    { adds: ['z', 'z', 'z'], want: ['z'] },
    { adds: ['c', 'b', 'a'], want: ['c', 'b', 'a'] },
  ];
  for (const c of cases) {
    const { queue, observer } = setup();
    for (const k of c.adds) queue.add(k);
    assert.equal(queue.len(), c.want.length);
    assert.equal(observer.addCount, c.want.length, 'duplicates are not counted as adds');
    assert.deepEqual(await takeReady(queue), c.want);
  }
});

test('get waits for the next add', guard, async () => {
  const { queue } = setup();
  const got = track(queue.get());
  await nextTurn();
  assert.equal(got.settled(), false);
  queue.add('a');
  await nextTurn();
  assert.equal(got.value(), 'a');
  assert.equal(queue.len(), 0);
});

test('a key added while held is dirty: handed out again only after done', guard, async () => {
  const { queue } = setup();
  queue.add('a');
  assert.equal(await queue.get(), 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.len(), 0, 'a held key is not ready');
  const second = track(queue.get());
  await nextTurn();
  assert.equal(second.settled(), false, 'no second worker gets a held key');
  queue.done('a');
  await nextTurn();
  assert.equal(second.value(), 'a');
  queue.done('a');
  assert.equal(queue.len(), 0, 'the dirty re-add collapsed into one');
});

test('done for a key that is not held is ignored', guard, async () => {
  const { queue } = setup();
  queue.done('nobody');
  queue.add('a');
  queue.done('a');
  assert.deepEqual(await takeReady(queue), ['a']);
});

test('addAfter keeps the earliest deadline per key with one timer', guard, async () => {
  const { queue, clock, t0 } = setup();
  queue.addAfter('a', 1000);
  queue.addAfter('a', 500);
  queue.addAfter('a', 2000);
  queue.addAfter('b', 700);
  assert.deepEqual(clock.pendingTimers(), [t0 + 500], 'one timer, at the earliest deadline');
  clock.advance(499);
  assert.equal(queue.len(), 0);
  clock.advance(1);
  assert.deepEqual(await takeReady(queue), ['a']);
  assert.deepEqual(clock.pendingTimers(), [t0 + 700]);
  clock.advance(10_000);
  assert.deepEqual(await takeReady(queue), ['b'], 'the superseded deadlines of a never fire');
  assert.deepEqual(clock.pendingTimers(), []);
});

test('delayed keys become ready in deadline order', guard, async () => {
  const { queue, clock } = setup();
  const delays: [string, number][] = [['c', 300], ['a', 100], ['d', 300], ['b', 200]];
  for (const [k, ms] of delays) queue.addAfter(k, ms);
  clock.advance(300);
  assert.deepEqual(await takeReady(queue), ['a', 'b', 'c', 'd']);
});

test('add makes a delayed key ready now and drops its deadline', guard, async () => {
  const { queue, clock } = setup();
  queue.addAfter('a', 1000);
  queue.add('a');
  assert.deepEqual(clock.pendingTimers(), [], 'the timer of the dropped deadline is cancelled');
  assert.deepEqual(await takeReady(queue), ['a']);
  clock.advance(5000);
  assert.equal(queue.len(), 0);
});

test('addAfter on a pending key, or with a delay <= 0, needs no timer', guard, async () => {
  const cases: { name: string; run: (q: WorkQueue) => void; ready: string[] }[] = [
    { name: 'already ready', run: (q) => { q.add('a'); q.addAfter('a', 100); }, ready: ['a'] },
    { name: 'zero delay', run: (q) => { q.addAfter('a', 0); }, ready: ['a'] },
    { name: 'negative delay', run: (q) => { q.addAfter('a', -10); }, ready: ['a'] },
    { name: 'NaN delay', run: (q) => { q.addAfter('a', Number.NaN); }, ready: ['a'] },
    { name: 'infinite delay', run: (q) => { q.addAfter('a', Infinity); }, ready: [] },
  ];
  for (const c of cases) {
    const { queue, clock } = setup();
    c.run(queue);
    assert.deepEqual(clock.pendingTimers(), [], c.name);
    assert.deepEqual(await takeReady(queue), c.ready, c.name);
  }
});

test('a deadline that falls due while the key is held makes it dirty', guard, async () => {
  const { queue, clock } = setup();
  queue.add('a');
  assert.equal(await queue.get(), 'a');
  queue.addAfter('a', 100);
  clock.advance(100);
  assert.equal(queue.len(), 0);
  queue.done('a');
  assert.deepEqual(await takeReady(queue), ['a']);
});

test('many superseded deadlines do not disturb the timer', guard, async () => {
  const { queue, clock, t0 } = setup();
  for (let i = 0; i < 300; i++) {
    queue.addAfter(`k${i}`, 1000 + i);
    queue.add(`k${i}`);
  }
  assert.equal((await takeReady(queue)).length, 300);
  queue.addAfter('late', 50);
  queue.addAfter('later', 60);
  assert.deepEqual(clock.pendingTimers(), [t0 + 50]);
  clock.advance(60);
  assert.deepEqual(await takeReady(queue), ['late', 'later']);
});

test('addRateLimited backs off per key, grows, caps, and forget resets', guard, async () => {
  const { queue, clock, observer } = setup();
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    queue.addRateLimited('a');
    delays.push(clock.pendingTimers()[0]! - clock.nowMs());
    clock.advance(delays.at(-1)!);
    assert.deepEqual(await takeReady(queue), ['a']);
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(queue.retries('a'), 6);
  assert.equal(observer.retryCount, 6);
  queue.forget('a');
  assert.equal(queue.retries('a'), 0);
  queue.addRateLimited('a');
  assert.deepEqual(clock.pendingTimers(), [clock.nowMs() + 100]);
});

test('shutDown drops pending and delayed keys, releases waiting workers, ignores later adds', guard, async () => {
  const { queue, clock, observer } = setup();
  const waiting = track(queue.get());
  await nextTurn();
  queue.add('held');
  await nextTurn();
  assert.equal(waiting.value(), 'held');
  const idle = track(queue.get());
  queue.add('ready');
  const idle2 = track(queue.get());
  queue.addAfter('delayed', 1000);
  queue.shutDown();
  await nextTurn();
  assert.equal(idle.value(), 'ready');
  assert.equal(idle2.settled(), true);
  assert.equal(idle2.value(), undefined);
  assert.equal(queue.isShuttingDown(), true);
  assert.deepEqual(clock.pendingTimers(), [], 'a stopped queue holds no timer');
  queue.add('x');
  queue.addAfter('y', 10);
  queue.addRateLimited('z');
  assert.equal(queue.len(), 0);
  assert.equal(await queue.get(), undefined);
  queue.add('held');
  queue.done('held');
  queue.done('ready');
  assert.equal(await queue.get(), undefined, 'done after shutdown does not re-queue');
  assert.equal(observer.depths.at(-1), 0);
});

test('shutDownWithDrain hands out what is pending, then resolves once the last held key is done', guard, async () => {
  const { queue, clock } = setup();
  queue.add('held');
  assert.equal(await queue.get(), 'held');
  queue.add('held'); // dirty while held
  queue.add('a');
  queue.add('b');
  queue.addAfter('delayed', 10);
  const drained = track(queue.shutDownWithDrain());
  queue.add('ignored');
  assert.deepEqual(clock.pendingTimers(), [], 'delayed keys are dropped');
  assert.deepEqual(await takeReady(queue), ['a', 'b']);
  const next = track(queue.get());
  await nextTurn();
  assert.equal(next.settled(), false, 'the dirty held key is still to come');
  assert.equal(drained.settled(), false);
  queue.done('held');
  await nextTurn();
  assert.equal(next.value(), 'held');
  assert.equal(drained.settled(), false, 'the re-queued key is held again');
  const last = track(queue.get());
  await nextTurn();
  assert.equal(last.settled(), true);
  assert.equal(last.value(), undefined, 'nothing left to hand out');
  queue.done('held');
  await nextTurn();
  assert.equal(drained.settled(), true);
  assert.equal(await queue.get(), undefined);
});

test('shutDownWithDrain on an idle queue resolves at once; shutDown during a drain drops the rest', guard, async () => {
  const idle = setup().queue;
  await idle.shutDownWithDrain();
  assert.equal(await idle.get(), undefined);

  const { queue } = setup();
  queue.add('a');
  queue.add('b');
  assert.equal(await queue.get(), 'a');
  const drained = track(queue.shutDownWithDrain());
  queue.shutDown();
  assert.equal(await queue.get(), undefined, 'b is dropped');
  await nextTurn();
  assert.equal(drained.settled(), false, 'a is still held');
  queue.done('a');
  await nextTurn();
  assert.equal(drained.settled(), true);
});

test('observer sees depth, queue latency and work duration on the injected clock', guard, async () => {
  const { queue, clock, observer } = setup();
  queue.add('a');
  queue.add('b');
  clock.advance(50);
  assert.equal(await queue.get(), 'a');
  clock.advance(20);
  queue.done('a');
  assert.equal(await queue.get(), 'b');
  queue.done('b');
  assert.deepEqual(observer.depths, [1, 2, 1, 0]);
  assert.deepEqual(observer.latencies, [50, 70]);
  assert.deepEqual(observer.durations, [20, 0]);
  assert.equal(observer.addCount, 2);
});

test('addFirst puts a key at the head of the ready keys, once, and leaves a held key to run again next', guard, async () => {
  const { queue, observer } = setup();
  for (const k of ['a', 'b', 'c']) queue.add(k);
  queue.addFirst('c');
  queue.addFirst('d');
  assert.deepEqual(await takeReady(queue), ['d', 'c', 'a', 'b']);
  assert.equal(observer.addCount, 4, 'moving a pending key is not a new add');

  const held = await (queue.add('x'), queue.get());
  assert.equal(held, 'x');
  queue.add('y');
  queue.addFirst('x');
  assert.deepEqual(await takeReady(queue), ['y'], 'a held key is not handed out twice');
  queue.done('x');
  assert.deepEqual(await takeReady(queue), ['x'], 'it runs again once done');
});

test('addFirst hands the key straight to a waiting worker and drops its delayed deadline', guard, async () => {
  const { queue, clock } = setup();
  queue.addAfter('k', 1000);
  const got = track(queue.get());
  queue.addFirst('k');
  await nextTurn();
  assert.equal(got.value(), 'k');
  queue.done('k');
  clock.advance(2000);
  assert.equal(queue.len(), 0, 'the old deadline does not add it again');
  queue.shutDown();
  queue.addFirst('z');
  assert.equal(queue.len(), 0, 'ignored after shutdown');
});
