import assert from 'node:assert/strict';
import { test } from 'node:test';
import { abortable } from '../../../src/util/abortable.ts';

test('abortable passes the answer on, and rejects with its message once the signal aborts', async () => {
  assert.equal(await abortable(Promise.resolve(1), new AbortController().signal, 'stopped'), 1);
  assert.equal(await abortable(Promise.resolve(2), undefined, 'stopped'), 2);
  await assert.rejects(abortable(Promise.reject(new Error('own')), new AbortController().signal, 'stopped'), /^Error: own$/);

  const controller = new AbortController();
  const never = new Promise<number>(() => undefined);
  const waiting = abortable(never, controller.signal, 'stopped');
  controller.abort();
  await assert.rejects(waiting, /^Error: stopped$/);
  await assert.rejects(abortable(never, AbortSignal.abort(), 'already'), /^Error: already$/);
});
