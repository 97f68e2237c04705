import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test } from 'node:test';
import { BackoffRateLimiter } from '../../../src/runtime/backoff.ts';
import { runWorkers, type ReconcileContext, type ReconcileObserver } from '../../../src/runtime/workers.ts';
import { TerminalError, type ReconcileOutcome, type Result } from '../../../src/runtime/result.ts';
import { WorkQueue } from '../../../src/runtime/work-queue.ts';
import { FakeClock } from '../../../src/util/clock.ts';

/** A broken queue shows up as a hang; fail such a test quickly instead. */
const guard = { timeout: 10_000 };

interface Record { key: string; outcome: ReconcileOutcome; durationMs: number; err: unknown }

/** Records reconciles and lets a test wait, without sleeping, until n of them have finished. */
class Recorder implements ReconcileObserver {
  readonly starts: string[] = [];
  readonly records: Record[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  started(key: string): void {
    this.starts.push(key);
  }

  finished(key: string, outcome: ReconcileOutcome, durationMs: number, err?: unknown): void {
    this.records.push({ key, outcome, durationMs, err });
    const ready = this.waiters.filter((w) => this.records.length >= w.n);
    this.waiters = this.waiters.filter((w) => this.records.length < w.n);
    for (const w of ready) w.resolve();
  }

  until(n: number): Promise<void> {
    if (this.records.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  outcomes(): string[] {
    return this.records.map((r) => `${r.key}:${r.outcome}`);
  }
}

function setup() {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, rateLimiter: new BackoffRateLimiter({ baseMs: 100, capMs: 1000, jitter: 0 }) });
  return { clock, queue, observer: new Recorder() };
}

test('success forgets the key and schedules nothing', guard, async () => {
  const { clock, queue, observer } = setup();
  const seen: ReconcileContext<undefined>[] = [];
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: (_key, ctx) => { seen.push(ctx); clock.advance(25); return Promise.resolve(undefined); },
  });
  queue.add('a');
  await observer.until(1);
  assert.deepEqual(observer.outcomes(), ['a:success']);
  assert.equal(observer.records[0]?.durationMs, 25);
  assert.deepEqual(observer.starts, ['a']);
  assert.deepEqual(seen.map((c) => [c.key, c.attempt, c.log, c.signal.aborted]), [['a', 1, undefined, false]]);
  assert.deepEqual(clock.pendingTimers(), []);
  await workers.stop();
});

test('requeueAfter is honoured', guard, async () => {
  const { clock, queue, observer } = setup();
  const workers = runWorkers({
    queue, concurrency: 2, observer, clock,
    reconcile: (): Promise<Result> => Promise.resolve({ requeueAfter: 30_000 }),
  });
  queue.add('a');
  await observer.until(1);
  assert.deepEqual(clock.pendingTimers(), [clock.nowMs() + 30_000]);
  clock.advance(29_999);
  await nextTurn();
  assert.equal(observer.records.length, 1);
  clock.advance(1);
  await observer.until(2);
  assert.deepEqual(observer.outcomes(), ['a:requeue', 'a:requeue']);
  await workers.stop();
});

test('errors retry with growing backoff and attempt numbers; success resets them', guard, async () => {
  const { clock, queue, observer } = setup();
  const attempts: number[] = [];
  const failure = new Error('registry unreachable');
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: (_key, ctx) => {
      attempts.push(ctx.attempt);
      return ctx.attempt <= 3 ? Promise.reject(failure) : Promise.resolve(undefined);
    },
  });
  queue.add('a');
  const delays: number[] = [];
  for (let n = 1; n <= 3; n++) {
    await observer.until(n);
    const due = clock.pendingTimers()[0]!;
    delays.push(due - clock.nowMs());
    clock.advance(due - clock.nowMs());
  }
  await observer.until(4);
  assert.deepEqual(delays, [100, 200, 400]);
  assert.deepEqual(attempts, [1, 2, 3, 4]);
  assert.deepEqual(observer.outcomes(), ['a:error', 'a:error', 'a:error', 'a:success']);
  assert.equal(observer.records[0]?.err, failure);
  assert.equal(queue.retries('a'), 0);
  assert.deepEqual(clock.pendingTimers(), []);
  await workers.stop();
});

test('TerminalError is not retried until the key is added again', guard, async () => {
  const { clock, queue, observer } = setup();
  const attempts: number[] = [];
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: (_key, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt === 1) return Promise.reject(new Error('transient'));
      return Promise.reject(new Error('wrapped', { cause: new TerminalError('spec.target.secret.name is empty') }));
    },
  });
  queue.add('a');
  await observer.until(1);
  clock.advance(100);
  await observer.until(2);
  assert.deepEqual(observer.outcomes(), ['a:error', 'a:terminal']);
  assert.equal(queue.retries('a'), 0, 'terminal forgets the backoff');
  assert.deepEqual(clock.pendingTimers(), []);
  clock.advance(3_600_000);
  await nextTurn();
  assert.equal(observer.records.length, 2);
  queue.add('a');
  await observer.until(3);
  assert.deepEqual(attempts, [1, 2, 1]);
  await workers.stop();
});

test('an invalid requeueAfter counts as an error and is retried', guard, async () => {
  const { clock, queue, observer } = setup();
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: () => Promise.resolve({ requeueAfter: Number.NaN }),
  });
  queue.add('a');
  await observer.until(1);
  const [record] = observer.records;
  assert.equal(record?.outcome, 'error');
  assert.ok(record.err instanceof TypeError);
  assert.equal(queue.retries('a'), 1);
  await workers.stop();
});

test('concurrency 4: distinct keys run in parallel, one key never runs twice at once', guard, async () => {
  const { clock, queue, observer } = setup();
  const active = new Map<string, number>();
  let maxPerKey = 0;
  let maxTotal = 0;
  const gates: (() => void)[] = [];
  const runs: string[] = [];
  const workers = runWorkers({
    queue, concurrency: 4, observer, clock,
    reconcile: async (key) => {
      runs.push(key);
      active.set(key, (active.get(key) ?? 0) + 1);
      maxPerKey = Math.max(maxPerKey, active.get(key)!);
      maxTotal = Math.max(maxTotal, [...active.values()].reduce((a, b) => a + b, 0));
      await new Promise<void>((resolve) => gates.push(resolve));
      active.set(key, active.get(key)! - 1);
    },
  });
  for (const k of ['a', 'b', 'c', 'd', 'e']) queue.add(k);
  await nextTurn();
  assert.deepEqual(runs, ['a', 'b', 'c', 'd']);
  for (let i = 0; i < 3; i++) queue.add('a');
  queue.add('b');
  await nextTurn();
  assert.equal(runs.length, 4, 'held keys are not started again; e waits for a free worker');
  // Release one reconcile per turn; 7 runs are expected, so 20 turns are plenty and a bug cannot hang here.
  for (let turn = 0; turn < 20 && observer.records.length < 7; turn++) {
    gates.shift()?.();
    await nextTurn();
  }
  assert.equal(observer.records.length, 7);
  assert.deepEqual([...runs].sort(), ['a', 'a', 'b', 'b', 'c', 'd', 'e']);
  assert.equal(maxPerKey, 1);
  assert.equal(maxTotal, 4);
  await workers.stop();
});

test('the logger factory makes one logger per reconcile, given key and attempt', guard, async () => {
  const { clock, queue, observer } = setup();
  const logs: string[] = [];
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    logger: (key, attempt) => ({ info: (msg: string) => logs.push(`${key}#${attempt} ${msg}`) }),
    reconcile: (key, ctx) => {
      ctx.log.info('reconciling');
      return key === 'bad' && ctx.attempt === 1 ? Promise.reject(new Error('once')) : Promise.resolve(undefined);
    },
  });
  queue.add('ok');
  queue.add('bad');
  await observer.until(2);
  clock.advance(100);
  await observer.until(3);
  assert.deepEqual(logs, ['ok#1 reconciling', 'bad#1 reconciling', 'bad#2 reconciling']);
  await workers.stop();
});

test('an observer that throws does not change what the loop does', guard, async () => {
  const { clock, queue } = setup();
  let reconciles = 0;
  const workers = runWorkers({
    queue, concurrency: 1, clock,
    observer: { started: () => { throw new Error('metrics down'); }, finished: () => { throw new Error('metrics down'); } },
    reconcile: () => { reconciles++; return Promise.resolve(reconciles === 1 ? { requeueAfter: 10 } : undefined); },
  });
  queue.add('a');
  await nextTurn();
  clock.advance(10);
  await nextTurn();
  queue.add('b');
  await nextTurn();
  assert.equal(reconciles, 3);
  await workers.stop();
});

test('stop aborts the signal, waits for in-flight reconciles and starts no new ones', guard, async () => {
  const { clock, queue, observer } = setup();
  let release: () => void = () => undefined;
  let signal: AbortSignal | undefined;
  const runs: string[] = [];
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: async (key, ctx) => {
      runs.push(key);
      signal = ctx.signal;
      await new Promise<void>((resolve) => { release = resolve; });
      throw new Error('aborted');
    },
  });
  queue.add('a');
  queue.add('b');
  await nextTurn();
  let stopped = false;
  const stopping = workers.stop().then(() => { stopped = true; });
  await nextTurn();
  assert.equal(signal?.aborted, true);
  assert.equal(stopped, false, 'stop waits for the in-flight reconcile');
  release();
  await stopping;
  assert.deepEqual(runs, ['a'], 'the backlog is dropped');
  assert.deepEqual(observer.outcomes(), ['a:error']);
  assert.deepEqual(clock.pendingTimers(), [], 'no retry timer survives stop');
  assert.equal(await queue.get(), undefined);
  await workers.stop();
});

test('runWorkers rejects a concurrency that is not a positive integer', () => {
  const { queue } = setup();
  for (const concurrency of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => runWorkers({ queue, concurrency, reconcile: () => Promise.resolve(undefined) }), RangeError, String(concurrency));
  }
});

test('onFailure hears every failed reconcile with its key, attempt and logger; successes stay silent', guard, async () => {
  const { clock, queue, observer } = setup();
  const failures: string[] = [];
  const workers = runWorkers<string>({
    queue, concurrency: 1, observer, clock,
    logger: (key, attempt) => `log:${key}#${attempt}`,
    onFailure: ({ key, attempt, log }, err) => { failures.push(`${key} ${attempt} ${log} ${(err as Error).message}`); },
    reconcile: (_key, ctx) => (ctx.attempt === 1 ? Promise.reject(new Error('conflict')) : Promise.resolve(undefined)),
  });
  queue.add('a');
  await observer.until(1);
  clock.advance(100);
  await observer.until(2);
  assert.deepEqual(failures, ['a 1 log:a#1 conflict']);
  await workers.stop();
});

test('stalledMs grows while work waits behind a reconcile that never ends, and is 0 when idle', guard, async () => {
  const { clock, queue, observer } = setup();
  const wedged = Promise.withResolvers<undefined>();
  const workers = runWorkers({
    queue, concurrency: 1, observer, clock,
    reconcile: (key) => (key === 'wedged' ? wedged.promise : Promise.resolve(undefined)),
  });
  assert.equal(workers.stalledMs(), 0);
  queue.add('a');
  await observer.until(1);
  await nextTurn(); // the worker returns from the reconcile after the observer heard of it
  clock.advance(60_000);
  assert.equal(workers.stalledMs(), 0, 'idle: nothing to do is not a stall');
  queue.add('wedged');
  queue.add('b');
  await nextTurn();
  clock.advance(200_000);
  assert.equal(workers.stalledMs(), 200_000);
  wedged.resolve(undefined);
  await observer.until(3);
  await nextTurn();
  assert.equal(workers.stalledMs(), 0);
  await workers.stop();
});
