// Exponential backoff: a pure delay function shared by every retry loop (work-queue retries, informer
// restarts, token-refresh failures), and the per-key rate limiter the work queue uses for reconcile retries.

export interface BackoffOptions {
  /** Delay of the first attempt, > 0. */
  baseMs: number;
  /** Upper bound of every delay, jitter included; >= baseMs. */
  capMs: number;
  /** Growth per attempt, >= 1. Default 2. */
  factor?: number;
  /**
   * Relative spread in [0, 1): the delay is drawn uniformly from raw × [1 − jitter, 1 + jitter], then capped.
   * Spreads retries of many keys that failed together. Default 0.1.
   */
  jitter?: number;
  /** Source of randomness in [0, 1); inject a constant in tests for deterministic delays. */
  random?: () => number;
}

/** Delay in ms before retry number `attempt` (1-based; values below 1 count as 1). */
export type Backoff = (attempt: number) => number;

/** Builds a backoff function: baseMs × factor^(attempt−1), jittered, never above capMs. */
export function exponentialBackoff(opts: BackoffOptions): Backoff {
  const { baseMs, capMs, factor = 2, jitter = 0.1, random = Math.random } = opts;
  if (!(baseMs > 0) || !(capMs >= baseMs) || !(factor >= 1) || !(jitter >= 0 && jitter < 1)) {
    throw new RangeError(
      `invalid backoff: baseMs=${baseMs} capMs=${capMs} factor=${factor} jitter=${jitter} ` +
        '(need baseMs > 0, capMs >= baseMs, factor >= 1, 0 <= jitter < 1)',
    );
  }
  return (attempt) => {
    const exponent = Math.max(0, Math.floor(attempt) - 1) || 0;
    // factor ** exponent may overflow to Infinity; min() then yields the cap, never NaN since baseMs > 0.
    const raw = Math.min(capMs, baseMs * factor ** exponent);
    const spread = 1 + jitter * (2 * random() - 1);
    return Math.round(Math.min(capMs, raw * spread));
  };
}

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
