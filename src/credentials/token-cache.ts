// The token cache: one fetch per credential identity per refresh, however many resources and namespaces
// use that identity. Entries are keyed by provider kind + provider.identity(), which
// names every identity input and carries secret material only as a hash. Concurrent callers of one
// identity share a single fetch (single-flight). A fresh token is served without fetching; a stale one is
// fetched again; a failed fetch keeps the last good entries until they expire, reports a scrubbed error
// and retries after a per-identity exponential backoff. Nothing here schedules refreshes: the controller
// reads each source's refreshAt and requeues through its work queue with the injected clock.
// Every fetch runs under an AbortSignal with a deadline (`timeoutMs`): a token endpoint that accepts the
// connection and never answers fails that identity only, after the deadline, even if the provider ignores
// the signal; close() fails every fetch in flight at once, so shutdown never waits for one.
import { LRUCache } from 'lru-cache';
import type { AuthEntry } from '../dockerconfig/index.ts';
import { errorMessage, scrub } from '../util/errors.ts';
import type { Clock } from '../util/clock.ts';
import { withDeadline } from '../util/deadline.ts';
import { sha256Hex } from '../util/hash.ts';
import type { CredentialProvider, FetchedCredentials, SecretData } from './provider.ts';
import { failureBackoff, nextRefresh, type FailureBackoffOptions } from './refresh-policy.ts';

export interface TokenState {
  /** The last good entries; empty once they expired (or before any fetch succeeded). */
  entries: AuthEntry[];
  /** Expiry of the last good entries, kept after they expired so status can say when. */
  expiresAt?: Date;
  /** When the last successful fetch happened. */
  lastRefreshTime?: Date;
  /** Why the latest fetch failed, scrubbed of secret material; absent after a success. */
  error?: string;
  /** When this identity should be fetched again (refresh policy or failure backoff). */
  refreshAt: Date;
}

export type FetchResult = 'success' | 'error';

export interface TokenCacheOptions {
  clock: Clock;
  /** Refresh policy (see nextRefresh). */
  fraction?: number;
  jitter?: number;
  floorMs?: number;
  /** Backoff after failed fetches; resets on success. Defaults 5 s doubling to 5 min. */
  backoff?: { baseMs?: number; capMs?: number };
  /** Most identities kept; the least recently used beyond this are dropped. Default 1000. */
  max?: number;
  random?: () => number;
  /** Called once per fetch, for metrics. */
  onFetch?: (kind: string, result: FetchResult, durationMs: number) => void;
  /** Deadline of one fetch in ms (--token-timeout). Default 30 s. */
  timeoutMs?: number;
}

interface Entry {
  kind: string;
  /** The last good fetch, for whichever source of the identity asked first; retargeted per source. */
  fetched?: FetchedCredentials;
  expiresAt?: Date;
  /** Entries are served until this instant: expiresAt, or refreshAt for a token that arrived expired. */
  usableUntil?: Date;
  lastRefreshTime?: Date;
  error?: string;
  refreshAt: Date;
  /** Consecutive failed fetches. */
  failures: number;
}

function secretValues(secret: SecretData | undefined, entries: readonly AuthEntry[]): string[] {
  const values = Object.values(secret ?? {});
  for (const e of entries) values.push(e.auth, ...[e.password, e.identitytoken].filter((v) => v !== undefined));
  return values;
}

/** The cache key of an identity: the provider kind and what decides whom it authenticates as. */
const keyOf = <S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): string =>
  `${provider.kind}\0${provider.identity(source, secret)}`;

export class TokenCache {
  private readonly cache: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly backoff: FailureBackoffOptions;
  private readonly closing = new AbortController();

  constructor(private readonly opts: TokenCacheOptions) {
    this.cache = new LRUCache<string, Entry>({ max: opts.max ?? 1000 });
    this.backoff = { ...opts.backoff, jitter: opts.jitter, random: opts.random };
  }

  /** The credentials of `source`: cached while fresh, else fetched once for every concurrent caller. */
  async get<S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): Promise<TokenState> {
    const entry = await this.entry(provider, source, secret);
    return view(entry, this.opts.clock.now(), (fetched) => provider.retarget(source, fetched));
  }

  /**
   * A short digest of whom `source` authenticates as (kind and identity), for status: a restarted daemon
   * compares it to tell whether a token its Secrets carry was fetched for the identity named now.
   */
  digest<S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): string {
    return sha256Hex(keyOf(provider, source, secret)).slice(0, 16);
  }

  /**
   * Takes `fetched`, a token fetched at `fetchedAt` by an earlier run of the daemon (read back from the
   * Secrets it wrote), as the identity's entry, unless one is cached or being fetched already or it is due
   * for a refresh by now. Returns whether it did. Nothing is fetched for it; it is refreshed as any other.
   */
  seed<S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined, fetched: FetchedCredentials, fetchedAt: Date): boolean {
    const key = keyOf(provider, source, secret);
    if (this.inflight.has(key) || this.cache.has(key)) return false;
    const entry = this.succeeded(provider.kind, fetched, fetchedAt);
    if (entry.refreshAt <= this.opts.clock.now()) return false;
    this.cache.set(key, entry);
    return true;
  }

  /** The identity's entry: cached while fresh, else fetched once for every concurrent caller. */
  private entry<S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): Promise<Entry> {
    const key = keyOf(provider, source, secret);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const cached = this.cache.get(key);
    if (cached && this.opts.clock.now() < cached.refreshAt) return Promise.resolve(cached);
    const fetching = this.refresh(key, provider, source, secret).finally(() => this.inflight.delete(key));
    this.inflight.set(key, fetching);
    return fetching;
  }

  /** Fails every fetch in flight and every later one (shutdown). */
  close(): void {
    this.closing.abort(new Error('token cache closed'));
  }

  private async refresh<S>(key: string, provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): Promise<Entry> {
    const { clock } = this.opts;
    const started = clock.nowMs();
    const previous = this.cache.get(key);
    let entry: Entry;
    try {
      const fetched = await this.fetchWithDeadline(provider, source, secret);
      this.opts.onFetch?.(provider.kind, 'success', clock.nowMs() - started);
      entry = this.succeeded(provider.kind, fetched);
    } catch (err) {
      this.opts.onFetch?.(provider.kind, 'error', clock.nowMs() - started);
      const message = scrub(errorMessage(err), secretValues(secret, previous?.fetched?.entries ?? []));
      entry = this.failed(provider.kind, previous, message);
    }
    this.cache.set(key, entry);
    return entry;
  }

  /** provider.fetch under a signal that aborts at the deadline or on close(); rejects then even if fetch hangs on. */
  private fetchWithDeadline<S>(provider: CredentialProvider<S>, source: S, secret: SecretData | undefined): Promise<FetchedCredentials> {
    const ms = this.opts.timeoutMs ?? 30_000;
    return withDeadline((signal) => provider.fetch(source, secret, signal), {
      clock: this.opts.clock, ms, signal: this.closing.signal,
      timeoutError: () => new Error(`${provider.kind} token request: no answer within ${String(ms / 1000)} s`),
    });
  }

  private succeeded(kind: string, fetched: FetchedCredentials, fetchedAt = this.opts.clock.now()): Entry {
    const { expiresAt } = fetched;
    const { fraction, jitter, floorMs, random } = this.opts;
    const refreshAt = nextRefresh({ fetchedAt, expiresAt, fraction, jitter, floorMs, random });
    // A token that arrived already expired is still the newest the endpoint gives out: serve it until
    // the next refresh instead of serving nothing (the floor keeps that from looping).
    const usableUntil = expiresAt > refreshAt ? expiresAt : refreshAt;
    return { kind, fetched, expiresAt, usableUntil, lastRefreshTime: fetchedAt, refreshAt, failures: 0 };
  }

  private failed(kind: string, previous: Entry | undefined, error: string): Entry {
    const now = this.opts.clock.now();
    const failures = (previous?.failures ?? 0) + 1;
    const refreshAt = new Date(now.getTime() + failureBackoff(failures, this.backoff));
    return { ...previous, kind, error, refreshAt, failures };
  }
}

/** What one source sees of its identity's entry: the login written under its own registries. */
function view(entry: Entry, now: Date, retarget: (fetched: FetchedCredentials) => AuthEntry[]): TokenState {
  const usable = entry.fetched !== undefined && entry.usableUntil !== undefined && now < entry.usableUntil;
  const state: TokenState = { entries: [], refreshAt: entry.refreshAt };
  if (entry.expiresAt) state.expiresAt = entry.expiresAt;
  if (entry.lastRefreshTime) state.lastRefreshTime = entry.lastRefreshTime;
  if (entry.error !== undefined) state.error = entry.error;
  if (usable && entry.fetched) {
    try {
      state.entries = retarget(entry.fetched);
    } catch (err) {
      state.error = errorMessage(err); // retarget messages name registries and accounts only
    }
  }
  return state;
}
