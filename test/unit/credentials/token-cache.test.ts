import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entriesFor, type CredentialProvider, type FetchedCredentials, type SecretData } from '../../../src/credentials/provider.ts';
import { TokenCache, type TokenCacheOptions } from '../../../src/credentials/token-cache.ts';
import type { AuthEntry } from '../../../src/dockerconfig/index.ts';
import { FakeClock } from '../../../src/util/clock.ts';

const HOUR = 3600_000;

interface FakeSource {
  id: string;
  /** Where the login is written; default `<id>.example.com`. Not part of the identity. */
  registries?: string[];
}

type Outcome = { lifetimeMs: number; password?: string } | { error: string };

/** A provider whose fetches follow a script; each fetch waits until release() when `gate` is set. */
class FakeProvider implements CredentialProvider<FakeSource> {
  readonly kind = 'GCP' as const;
  fetches = 0;
  outcome: Outcome = { lifetimeMs: 12 * HOUR };
  private gate: { promise: Promise<void>; release: () => void } | undefined;

  constructor(private readonly clock: FakeClock) {}

  hold(): void {
    let release = (): void => undefined;
    const promise = new Promise<void>((resolve) => { release = resolve; });
    this.gate = { promise, release };
  }

  release(): void {
    this.gate?.release();
    this.gate = undefined;
  }

  validate(): string[] {
    return [];
  }

  identity(source: FakeSource): string {
    return source.id;
  }

  retarget(source: FakeSource, fetched: FetchedCredentials): AuthEntry[] {
    return entriesFor(source.registries ?? [`${source.id}.example.com`], fetched);
  }

  /** The signal of the latest fetch. */
  signal: AbortSignal | undefined;

  async fetch(source: FakeSource, _secret?: SecretData, signal?: AbortSignal): Promise<FetchedCredentials> {
    this.fetches++;
    this.signal = signal;
    if (this.gate) await this.gate.promise;
    const outcome = this.outcome;
    if ('error' in outcome) throw new Error(outcome.error);
    const password = outcome.password ?? `pw-${String(this.fetches)}`;
    const entry: AuthEntry = { registry: source.registries?.[0] ?? `${source.id}.example.com`, username: 'u', password, auth: Buffer.from(`u:${password}`).toString('base64') };
    return { entries: [entry], expiresAt: new Date(this.clock.nowMs() + outcome.lifetimeMs) };
  }
}

function setup(opts: Partial<TokenCacheOptions> = {}): { clock: FakeClock; provider: FakeProvider; cache: TokenCache } {
  const clock = new FakeClock();
  return { clock, provider: new FakeProvider(clock), cache: new TokenCache({ clock, jitter: 0, random: () => 0.5, ...opts }) };
}

const src: FakeSource = { id: 'reg' };

test('20 concurrent get() calls for one identity share one fetch', async () => {
  const { provider, cache } = setup();
  provider.hold();
  const calls = Array.from({ length: 20 }, () => cache.get(provider, { id: 'reg' }, undefined));
  provider.release();
  const states = await Promise.all(calls);
  assert.equal(provider.fetches, 1);
  for (const s of states) assert.deepEqual(s, states[0]);
  assert.equal(states[0]?.entries.length, 1);
});

test('sources of one identity that name different registries share one fetch, each written under its own registries', async () => {
  const { provider, cache } = setup();
  const a = await cache.get(provider, { id: 'sa', registries: ['a.io', 'b.io'] }, undefined);
  const b = await cache.get(provider, { id: 'sa', registries: ['c.io'] }, undefined);
  assert.equal(provider.fetches, 1);
  assert.deepEqual(a.entries.map((e) => e.registry), ['a.io', 'b.io']);
  assert.deepEqual(b.entries.map((e) => e.registry), ['c.io']);
  assert.equal(b.entries[0]?.password, a.entries[0]?.password);
});

test('a fresh token is served without fetching; it refreshes at the fraction of its lifetime', async () => {
  const { clock, provider, cache } = setup();
  const first = await cache.get(provider, src, undefined);
  assert.equal(first.refreshAt.getTime(), clock.nowMs() + 6 * HOUR, 'refresh at half of 12 h');
  assert.equal(first.lastRefreshTime?.getTime(), clock.nowMs());
  clock.advance(6 * HOUR - 1);
  const cached = await cache.get(provider, src, undefined);
  assert.equal(provider.fetches, 1, 'no fetch while fresh');
  assert.deepEqual(cached, first);
  clock.advance(1);
  const refreshed = await cache.get(provider, src, undefined);
  assert.equal(provider.fetches, 2, 'fetched at refreshAt');
  assert.equal(refreshed.entries[0]?.password, 'pw-2');
});

test('the refresh fraction is configurable', async () => {
  const { clock, provider, cache } = setup({ fraction: 0.25 });
  const state = await cache.get(provider, src, undefined);
  assert.equal(state.refreshAt.getTime(), clock.nowMs() + 3 * HOUR);
});

test('a token that arrives expired refreshes after the floor, not in a loop, and is served meanwhile', async () => {
  const { clock, provider, cache } = setup({ floorMs: 60_000 });
  provider.outcome = { lifetimeMs: -10 * 365 * 24 * HOUR };
  const state = await cache.get(provider, src, undefined);
  assert.equal(state.refreshAt.getTime(), clock.nowMs() + 60_000);
  assert.equal(state.entries.length, 1, 'the newest token the endpoint gives is served');
  for (let i = 0; i < 100; i++) await cache.get(provider, src, undefined);
  clock.advance(59_999);
  await cache.get(provider, src, undefined);
  assert.equal(provider.fetches, 1, 'no fetch before the floor');
  clock.advance(1);
  await cache.get(provider, src, undefined);
  assert.equal(provider.fetches, 2);
});

test('a failed refresh keeps the last good entries until they expire, then serves none', async () => {
  const { clock, provider, cache } = setup();
  provider.outcome = { lifetimeMs: HOUR };
  const good = await cache.get(provider, src, undefined);
  clock.advance(HOUR / 2);
  provider.outcome = { error: 'endpoint down' };
  const failed = await cache.get(provider, src, undefined);
  assert.deepEqual(failed.entries, good.entries, 'last good entries stay');
  assert.equal(failed.error, 'endpoint down');
  assert.deepEqual(failed.expiresAt, good.expiresAt);
  assert.deepEqual(failed.lastRefreshTime, good.lastRefreshTime);
  clock.advance(HOUR / 2);
  const expired = await cache.get(provider, src, undefined);
  assert.deepEqual(expired.entries, [], 'nothing once expired');
  assert.equal(expired.error, 'endpoint down');
  provider.outcome = { lifetimeMs: HOUR };
  clock.advance(10 * 60_000);
  const recovered = await cache.get(provider, src, undefined);
  assert.equal(recovered.entries.length, 1);
  assert.equal(recovered.error, undefined, 'a success clears the error');
});

test('a first fetch that fails gives no entries and an error, and does not reject', async () => {
  const { provider, cache } = setup();
  provider.outcome = { error: 'denied' };
  const state = await cache.get(provider, src, undefined);
  assert.deepEqual(state.entries, []);
  assert.equal(state.error, 'denied');
  assert.equal(state.expiresAt, undefined);
});

test('failures back off exponentially per identity and the backoff resets on success', async () => {
  const { clock, provider, cache } = setup({ backoff: { baseMs: 1_000, capMs: 8_000 } });
  provider.outcome = { error: 'down' };
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    const state = await cache.get(provider, src, undefined);
    const delay = state.refreshAt.getTime() - clock.nowMs();
    delays.push(delay);
    clock.advance(delay - 1);
    await cache.get(provider, src, undefined); // still backing off: no fetch
    clock.advance(1);
  }
  assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  assert.equal(provider.fetches, 6);
  provider.outcome = { lifetimeMs: 12 * HOUR };
  const ok = await cache.get(provider, src, undefined);
  assert.equal(ok.refreshAt.getTime() - clock.nowMs(), 6 * HOUR);
  clock.advance(6 * HOUR);
  provider.outcome = { error: 'down again' };
  const again = await cache.get(provider, src, undefined);
  assert.equal(again.refreshAt.getTime() - clock.nowMs(), 1_000, 'backoff starts over');
});

test('errors are scrubbed of secret values and of the last good passwords and auths', async () => {
  const { clock, provider, cache } = setup();
  const secret: SecretData = { clientSecret: 's3cr3t-value', tenant: 'tenant-guid' };
  provider.outcome = { lifetimeMs: HOUR, password: 'token-password' };
  const good = await cache.get(provider, src, secret);
  const auth = good.entries[0]?.auth ?? '';
  clock.advance(HOUR);
  provider.outcome = { error: `refused s3cr3t-value for tenant-guid; old token-password / ${auth}` };
  const state = await cache.get(provider, src, secret);
  const message = state.error ?? '';
  for (const value of ['s3cr3t-value', 'tenant-guid', 'token-password', auth]) assert.ok(!message.includes(value), value);
  assert.match(message, /^refused \[redacted\] for \[redacted\]; old \[redacted\] \/ \[redacted\]$/);
});

test('identities are cached apart', async () => {
  const { clock, provider, cache } = setup();
  provider.outcome = { lifetimeMs: 2 * HOUR, password: 'pw-a' };
  const a = await cache.get(provider, { id: 'a' }, undefined);
  provider.outcome = { lifetimeMs: HOUR, password: 'pw-b' };
  const b = await cache.get(provider, { id: 'b' }, undefined);
  assert.equal(provider.fetches, 2);
  assert.deepEqual([a.entries[0]?.password, b.entries[0]?.password], ['pw-a', 'pw-b']);
  assert.deepEqual([a.expiresAt?.getTime(), b.expiresAt?.getTime()], [clock.nowMs() + 2 * HOUR, clock.nowMs() + HOUR]);
});

test('onFetch reports each fetch with its kind and result', async () => {
  const seen: string[] = [];
  const { provider, cache } = setup({ onFetch: (kind, result, ms) => { seen.push(`${kind} ${result} ${String(ms)}`); } });
  await cache.get(provider, src, undefined);
  provider.outcome = { error: 'x' };
  await cache.get(provider, { id: 'other' }, undefined);
  assert.deepEqual(seen, ['GCP success 0', 'GCP error 0']);
});

test('max bounds the number of identities kept', async () => {
  const { provider, cache } = setup({ max: 2 });
  for (const id of ['a', 'b', 'c']) await cache.get(provider, { id }, undefined);
  await cache.get(provider, { id: 'c' }, undefined);
  assert.equal(provider.fetches, 3, 'a kept identity is served from the cache');
  await cache.get(provider, { id: 'a' }, undefined);
  assert.equal(provider.fetches, 4, 'the evicted identity is fetched again');
});

test('a fetch that never answers fails its identity at the deadline, aborting the provider, and others are served meanwhile', async () => {
  const { clock, provider, cache } = setup({ timeoutMs: 30_000 });
  provider.hold(); // never released: the endpoint accepted the connection and went silent
  const hung = cache.get(provider, src, undefined);
  const other = new FakeProvider(clock);
  const served = await cache.get(other, { id: 'other' }, undefined);
  assert.equal(served.entries.length, 1);
  clock.advance(29_999);
  assert.equal(provider.signal?.aborted, false);
  clock.advance(1);
  const state = await hung;
  assert.equal(state.error, 'GCP token request: no answer within 30 s');
  assert.deepEqual(state.entries, []);
  assert.equal(provider.signal.aborted, true);
});

test('close() fails a fetch in flight at once, so shutdown never waits for it', async () => {
  const { provider, cache } = setup();
  provider.hold();
  const hung = cache.get(provider, src, undefined);
  cache.close();
  assert.equal((await hung).error, 'token cache closed');
  assert.equal(provider.signal?.aborted, true);
});
