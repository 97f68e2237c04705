// When to fetch a cloud registry token again: after a fraction of its lifetime, spread
// by jitter so identities fetched together do not refresh together, and never sooner than a floor, so a
// token that arrives already expired (moto returns such, and so can a skewed clock) cannot cause a fetch
// loop. After a failed fetch the next attempt backs off exponentially instead (the shared backoff of
// src/util). Pure.
import { exponentialBackoff } from '../util/backoff.ts';

export interface RefreshInput {
  /** When the token was fetched. */
  fetchedAt: Date;
  /** When the token stops working, as the token endpoint reported it. */
  expiresAt: Date;
  /** Share of the lifetime after which to refresh, in (0, 1]. Default 0.5. */
  fraction?: number;
  /** Relative spread of the refresh delay, in [0, 1). Default 0.1. */
  jitter?: number;
  /** Shortest delay between two fetches of one identity, >= 0. Default 60 s. */
  floorMs?: number;
  /** Source of randomness in [0, 1); inject a constant in tests. */
  random?: () => number;
}

export const DEFAULT_REFRESH_FRACTION = 0.5;
export const DEFAULT_REFRESH_JITTER = 0.1;
export const DEFAULT_REFRESH_FLOOR_MS = 60_000;

function checkOptions(fraction: number, jitter: number, floorMs: number): void {
  if (!(fraction > 0 && fraction <= 1) || !(jitter >= 0 && jitter < 1) || !(floorMs >= 0)) {
    throw new RangeError(
      `invalid refresh policy: fraction=${fraction} jitter=${jitter} floorMs=${floorMs} ` +
        '(need 0 < fraction <= 1, 0 <= jitter < 1, floorMs >= 0)',
    );
  }
}

/**
 * The time to fetch the token again: fetchedAt + max(floorMs, fraction × lifetime ± jitter), the jittered
 * delay never past the expiry. A token with no lifetime left (expired on arrival) gives exactly
 * fetchedAt + floorMs.
 */
export function nextRefresh(input: RefreshInput): Date {
  const {
    fetchedAt, expiresAt, fraction = DEFAULT_REFRESH_FRACTION, jitter = DEFAULT_REFRESH_JITTER,
    floorMs = DEFAULT_REFRESH_FLOOR_MS, random = Math.random,
  } = input;
  checkOptions(fraction, jitter, floorMs);
  const start = fetchedAt.getTime();
  const lifetime = expiresAt.getTime() - start;
  // NaN (an invalid date) counts as no lifetime: refresh at the floor rather than never or at once.
  if (!(lifetime > 0)) return new Date(start + floorMs);
  const spread = 1 + jitter * (2 * random() - 1);
  const delay = Math.min(lifetime, fraction * lifetime * spread);
  return new Date(start + Math.round(Math.max(floorMs, delay)));
}

export interface FailureBackoffOptions {
  /** Delay after the first failure, > 0. Default 5 s. */
  baseMs?: number;
  /** Longest delay, jitter included, >= baseMs. Default 5 min. */
  capMs?: number;
  /** Relative spread in [0, 1). Default 0.1. */
  jitter?: number;
  random?: () => number;
}

export const DEFAULT_FAILURE_BACKOFF = { baseMs: 5_000, capMs: 300_000 } as const;

/** Delay in ms before retry number `failures` (1-based): baseMs doubling per failure, jittered, capped. */
export function failureBackoff(failures: number, opts: FailureBackoffOptions = {}): number {
  const { baseMs = DEFAULT_FAILURE_BACKOFF.baseMs, capMs = DEFAULT_FAILURE_BACKOFF.capMs, jitter = DEFAULT_REFRESH_JITTER, random } = opts;
  return exponentialBackoff({ baseMs, capMs, jitter, ...(random ? { random } : {}) })(failures);
}
