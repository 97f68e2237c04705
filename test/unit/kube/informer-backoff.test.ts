// When the informer re-watches and relists, driven by a fake clock and a scripted KubeRest: transport
// behaviour only (what the API server means by a 410 is tested on the testbed, test/integration/).
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { test } from 'node:test';
import { Informer } from '../../../src/kube/informer.ts';
import { KubeApiError, type KubeRest } from '../../../src/kube/rest.ts';
import type { KubeObject } from '../../../src/kube/store.ts';
import { FakeClock } from '../../../src/util/clock.ts';

type Step =
  | { ok: true; events?: number; lastsMs?: number } // a watch that delivers `events` then ends after `lastsMs`
  | { gone: true } // a 410 answer
  | { fail: string };

/** A KubeRest that answers lists and watches from scripts; every call is recorded with the clock's time. */
function scripted(clock: FakeClock, lists: Step[], watches: Step[]) {
  const calls: string[] = [];
  const t0 = clock.nowMs();
  const at = () => clock.nowMs() - t0;
  const answer = (step: Step | undefined, signal: AbortSignal | undefined, run: () => unknown): Promise<unknown> => new Promise((resolve, reject) => {
    if (!step) { // the script ran out: hang until stopped
      signal?.addEventListener('abort', () => { reject(signal.reason as Error); });
      return;
    }
    if ('gone' in step) setImmediate(() => { reject(new KubeApiError(410, 'Expired', 'too old')); });
    else if ('fail' in step) setImmediate(() => { reject(new Error(step.fail)); });
    else if (step.lastsMs) clock.setTimeout(() => { resolve(run()); }, step.lastsMs);
    else setImmediate(() => { resolve(run()); });
  });
  let rv = 0;
  const rest = {
    call: (spec: { signal?: AbortSignal }) => {
      calls.push(`list@${at()}`);
      return answer(lists.shift() ?? { ok: true }, spec.signal, () => ({ metadata: { resourceVersion: String(++rv) }, items: [] }));
    },
    watch: (_spec: unknown, onEvent: (e: { type: string; object: unknown }) => void, signal: AbortSignal) => {
      calls.push(`watch@${at()}`);
      const step = watches.shift();
      if (step && 'ok' in step) {
        for (let i = 0; i < (step.events ?? 0); i++) onEvent({ type: 'ADDED', object: { metadata: { name: `o${++rv}`, resourceVersion: String(rv) } } });
      }
      // KubeRest.watch resolves when its signal aborts.
      return answer(step, signal, () => undefined).catch((err: unknown) => { if (!signal.aborted) throw err; });
    },
  } as unknown as KubeRest;
  return { rest, calls };
}

/** Lets the informer's loop run until it waits for the clock (or for a call the script never answers). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

/** Runs the informer through `ms` of fake time, firing each timer as it falls due. */
async function run(clock: FakeClock, ms: number): Promise<void> {
  const end = clock.nowMs() + ms;
  await settle();
  for (let next = clock.pendingTimers()[0]; next !== undefined && next <= end; next = clock.pendingTimers()[0]) {
    clock.advance(next - clock.nowMs());
    await settle();
  }
  clock.advance(Math.max(0, end - clock.nowMs()));
  await settle();
}

function informer(rest: KubeRest, clock: FakeClock): Informer<KubeObject> {
  // random 0.5 makes the jitter neutral: delays are exactly 100, 200, 400, 800, 1000, 1000, ...
  return new Informer<KubeObject>(rest, { resource: 'pods', path: '/api/v1/pods', clock, random: () => 0.5, backoffBaseMs: 100, backoffCapMs: 1000, minWatchTimeoutSeconds: 60 });
}

test('a watch that ends at once with no event is re-watched after a growing, capped backoff, without relisting', async () => {
  const clock = new FakeClock();
  const empty = Array.from({ length: 7 }, () => ({ ok: true as const }));
  const { rest, calls } = scripted(clock, [], empty);
  const inf = informer(rest, clock);
  inf.start();
  await run(clock, 5000);
  await inf.stop();
  assert.deepEqual(calls, ['list@0', 'watch@0', 'watch@100', 'watch@300', 'watch@700', 'watch@1500', 'watch@2500', 'watch@3500', 'watch@4500']);
});

test('a healthy watch resets the backoff: one that delivered an event, and one that lasted a second', async () => {
  const clock = new FakeClock();
  const { rest, calls } = scripted(clock, [], [
    { ok: true }, { ok: true }, { ok: true }, // 100, 200, 400
    { ok: true, events: 1 }, // healthy: re-watched at once
    { ok: true }, { ok: true }, // 100, 200 again
    { ok: true, lastsMs: 1000 }, // healthy by its length
    { ok: true },
  ]);
  const inf = informer(rest, clock);
  inf.start();
  await run(clock, 3000);
  await inf.stop();
  assert.deepEqual(calls, ['list@0', 'watch@0', 'watch@100', 'watch@300', 'watch@700', 'watch@700', 'watch@800', 'watch@1000', 'watch@2000', 'watch@2100']);
});

test('a 410 on a list relists after a growing backoff', async () => {
  const clock = new FakeClock();
  const { rest, calls } = scripted(clock, [{ gone: true }, { gone: true }, { gone: true }], []);
  const inf = informer(rest, clock);
  inf.start();
  await run(clock, 1000);
  await inf.stop();
  assert.deepEqual(calls, ['list@0', 'list@100', 'list@300', 'list@700', 'watch@700']);
  assert.equal(inf.hasSynced(), true);
});

test('a watch that expires after healthy watching relists at once; expiring again at once backs off', async () => {
  const clock = new FakeClock();
  const { rest, calls } = scripted(clock, [], [{ ok: true, events: 2 }, { gone: true }, { gone: true }, { fail: 'connection reset' }]);
  const inf = informer(rest, clock);
  inf.start();
  await run(clock, 1000);
  await inf.stop();
  assert.deepEqual(calls, ['list@0', 'watch@0', 'watch@0', 'list@0', 'watch@0', 'list@200', 'watch@200', 'watch@600']);
});

test('errors back off the same way, and stop() ends a backoff sleep at once', async () => {
  const clock = new FakeClock();
  const { rest, calls } = scripted(clock, [{ fail: 'connection refused' }, { fail: 'connection refused' }], []);
  const inf = informer(rest, clock);
  inf.start();
  await run(clock, 150);
  assert.deepEqual(calls, ['list@0', 'list@100']);
  await inf.stop(); // the 200 ms sleep is pending on the fake clock, which never advances again
  assert.deepEqual(clock.pendingTimers(), []);
});
