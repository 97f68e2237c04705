// Per-caller request limits of the builder front: one token bucket per key (a ServiceAccount, or the
// remote address for TokenReviews of unknown tokens), refilled at `qps` up to `burst`. Unlike the Kubernetes
// client's limiter, which waits, this one answers at once so the server can reply 429. Buckets live in an
// LRU map, so a flood of distinct keys cannot grow memory without bound. Time is injected.
import { LRUCache } from 'lru-cache';
import { realClock, type Clock } from '../util/clock.ts';

export interface RateLimit {
  /** Sustained requests per second per key; 0 or less disables limiting. */
  qps: number;
  /** Requests a key may make at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  lastMs: number;
}

export class KeyedRateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(private readonly limit: RateLimit, private readonly clock: Clock = realClock, max = 10_000) {
    this.buckets = new LRUCache({ max });
  }

  /** Takes one token for `key`; false when the key is over its limit. */
  tryTake(key: string): boolean {
    if (this.limit.qps <= 0) return true;
    const now = this.clock.nowMs();
    const burst = Math.max(1, this.limit.burst);
    const bucket = this.buckets.get(key) ?? { tokens: burst, lastMs: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, now - bucket.lastMs) / 1000) * this.limit.qps);
    bucket.lastMs = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return allowed;
  }
}

/**
 * Requests in progress per key (a ServiceAccount): beside the token bucket, which bounds how often a caller
 * may start work, this bounds how much of its work runs at once, so one caller's slow or oversized
 * registry answers cannot hold the server's memory and sockets. Keys with nothing in flight are dropped.
 */
export class InFlightLimiter {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly maxPerKey: number) {}

  /** Takes a slot for `key`; the release function, or undefined when the key is at its limit. */
  tryAcquire(key: string): (() => void) | undefined {
    const current = this.inFlight.get(key) ?? 0;
    if (this.maxPerKey > 0 && current >= this.maxPerKey) return undefined;
    this.inFlight.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }
}
