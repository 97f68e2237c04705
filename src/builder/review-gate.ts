// Admission of TokenReviews, the one call a caller without a valid token can make the daemon send. The
// builder front shares its process with the controller, so a fleet presenting tokens the API server
// refuses must cost the controller nothing: reviews run on the builder's own API client (daemon/builder.ts),
// and before one is sent this gate bounds, across all callers, how many are in flight and how many start
// per second. A review the gate does not admit is answered at once (503 with Retry-After), never queued:
// a queue would hold connections and memory for answers the caller gave up on. Refusals are remembered
// by the token's sha256 (never the token) for `refusedTtlMs`, so a caller repeating a bad token costs a
// hash and an LRU lookup. Time is injected.
import { LRUCache } from 'lru-cache';
import { realClock, type Clock } from '../util/clock.ts';
import { KeyedRateLimiter } from './rate-limit.ts';

export interface ReviewLimits {
  /** TokenReviews in flight at once, over all callers. */
  maxInFlight: number;
  /** TokenReviews started per second, over all callers, and the burst after a quiet spell. */
  qps: number;
  burst: number;
  /** How long a refused token is answered 401 without another review. */
  refusedTtlMs: number;
}

export const DEFAULT_REVIEW_LIMITS: ReviewLimits = { maxInFlight: 8, qps: 20, burst: 40, refusedTtlMs: 10_000 };

/** Refused tokens remembered at most; a flood of distinct tokens evicts the oldest. */
const MAX_REFUSED = 10_000;

/** The gate did not admit a review: answer 503 and ask the caller to come back after `retryAfterS`. */
export class ReviewShed extends Error {
  constructor(readonly reason: 'in_flight' | 'rate', readonly retryAfterS: number) {
    super('too many token reviews in progress; retry later');
    this.name = 'ReviewShed';
  }
}

export class ReviewGate {
  private inFlight = 0;
  private readonly rate: KeyedRateLimiter;
  /** Token hash → until when (ms) it is answered 401 without a review. */
  private readonly refused = new LRUCache<string, number>({ max: MAX_REFUSED });

  constructor(private readonly limits: ReviewLimits = DEFAULT_REVIEW_LIMITS, private readonly clock: Clock = realClock) {
    this.rate = new KeyedRateLimiter({ qps: limits.qps, burst: limits.burst }, clock, 1);
  }

  /** True when the token (by hash) was refused within the last `refusedTtlMs`. */
  wasRefused(tokenHash: string): boolean {
    const until = this.refused.get(tokenHash);
    if (until === undefined) return false;
    if (until > this.clock.nowMs()) return true;
    this.refused.delete(tokenHash);
    return false;
  }

  refuse(tokenHash: string): void {
    if (this.limits.refusedTtlMs > 0) this.refused.set(tokenHash, this.clock.nowMs() + this.limits.refusedTtlMs);
  }

  /** Admits one review (call the returned release when it ends) or throws ReviewShed. */
  admit(): () => void {
    if (this.limits.maxInFlight > 0 && this.inFlight >= this.limits.maxInFlight) throw new ReviewShed('in_flight', 1);
    if (!this.rate.tryTake('')) throw new ReviewShed('rate', Math.max(1, Math.ceil(1 / Math.max(this.limits.qps, 1))));
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }

  /** Reviews in flight now (for tests and metrics). */
  get active(): number {
    return this.inFlight;
  }
}
