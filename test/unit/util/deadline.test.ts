import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../src/util/clock.ts';
import { abortable, deadline, withDeadline } from '../../../src/util/deadline.ts';

const late = () => new Error('no answer within 5 s');

test('a deadline aborts on the clock with the timeout error, and clear() stops it', () => {
  const clock = new FakeClock();
  const d = deadline({ clock, ms: 5000, timeoutError: late });
  clock.advance(4999);
  assert.equal(d.signal.aborted, false);
  clock.advance(1);
  assert.equal((d.signal.reason as Error).message, 'no answer within 5 s');

  const cleared = deadline({ clock, ms: 5000, timeoutError: late });
  cleared.clear();
  assert.deepEqual(clock.pendingTimers(), []);
  clock.advance(10_000);
  assert.equal(cleared.signal.aborted, false);
});

test('a deadline aborts with its parent, before or after it starts, with the parent\'s reason', () => {
  const clock = new FakeClock();
  const parent = new AbortController();
  const d = deadline({ clock, ms: 5000, timeoutError: late, signal: parent.signal });
  parent.abort(new Error('closed'));
  assert.equal((d.signal.reason as Error).message, 'closed');
  const already = deadline({ clock, ms: 5000, timeoutError: late, signal: AbortSignal.abort(new Error('stopped')) });
  assert.equal((already.signal.reason as Error).message, 'stopped');
});

test('withDeadline passes the answer on, and rejects at the deadline even when the work ignores its signal', async () => {
  const clock = new FakeClock();
  assert.equal(await withDeadline(() => Promise.resolve(1), { clock, ms: 5000, timeoutError: late }), 1);
  assert.deepEqual(clock.pendingTimers(), [], 'a settled deadline leaves no timer');
  let seen: AbortSignal | undefined;
  const waiting = withDeadline((signal) => { seen = signal; return new Promise<never>(() => undefined); }, { clock, ms: 5000, timeoutError: late });
  clock.advance(5000);
  await assert.rejects(waiting, /no answer within 5 s/);
  assert.equal(seen?.aborted, true, 'the work was told to stop');
  await assert.rejects(withDeadline(() => Promise.reject(new Error('own')), { clock, ms: 5000, timeoutError: late }), /^Error: own$/);
});

test('abortable passes the answer on, and rejects with its message or the reason once the signal aborts', async () => {
  assert.equal(await abortable(Promise.resolve(1), new AbortController().signal, 'stopped'), 1);
  assert.equal(await abortable(Promise.resolve(2), undefined, 'stopped'), 2);
  await assert.rejects(abortable(Promise.reject(new Error('own')), new AbortController().signal, 'stopped'), /^Error: own$/);

  const controller = new AbortController();
  const never = new Promise<number>(() => undefined);
  const waiting = abortable(never, controller.signal, 'stopped');
  controller.abort();
  await assert.rejects(waiting, /^Error: stopped$/);
  await assert.rejects(abortable(never, AbortSignal.abort(), 'already'), /^Error: already$/);
  await assert.rejects(abortable(never, AbortSignal.abort(new Error('reason'))), /^Error: reason$/);
});
