// The per-key rate limiter the work queue uses for reconcile retries, over the shared exponential backoff.
import { exponentialBackoff, type Backoff, type BackoffOptions } from '../util/backoff.ts';

export { exponentialBackoff, type Backoff, type BackoffOptions };

/** Retry defaults for reconciles: 100 ms, doubling, capped at 5 min (reached after 13 consecutive failures). */
export const DEFAULT_RECONCILE_BACKOFF: Readonly<BackoffOptions> = {
  baseMs: 100,
  capMs: 5 * 60_000,
  factor: 2,
  jitter: 0.1,
};

/** Per-key retry bookkeeping, as client-go's ItemExponentialFailureRateLimiter. */
export interface RateLimiter {
  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number;
  /** Clears the failure history of `key` (after a success, or when retrying stops). */
  forget(key: string): void;
  /** Consecutive failures recorded for `key` since it was last forgotten. */
  retries(key: string): number;
}

export class BackoffRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly backoff: Backoff;

  constructor(opts: BackoffOptions = DEFAULT_RECONCILE_BACKOFF) {
    this.backoff = exponentialBackoff(opts);
  }

  when(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return this.backoff(n);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}
