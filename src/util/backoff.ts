// Exponential backoff: a pure delay function shared by every retry loop (work-queue retries, informer
// restarts, token-refresh failures). In util so every layer, credentials included, can use it.

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
