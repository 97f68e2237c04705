// Client-side rate limiting of API requests (--kube-qps / --kube-burst), as client-go's flowcontrol does:
// `burst` tokens, refilled at `qps` per second; each request takes one, waiting in arrival order. A
// waiter whose signal aborts leaves the queue at once and takes nothing, so a caller's deadline covers
// its wait here.
import { realClock, type Clock, type TimerHandle } from '../util/clock.ts';

interface Waiter {
  resolve: () => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: TimerHandle | undefined;

  constructor(private readonly qps: number, private readonly burst: number, private readonly clock: Clock = realClock) {
    this.tokens = burst;
    this.last = clock.nowMs();
  }

  /** Resolves when a token is available, callers in arrival order; rejects with the signal's reason if it aborts first. */
  take(signal?: AbortSignal): Promise<void> {
    if (this.qps <= 0) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve, signal,
        onAbort: () => {
          const at = this.waiters.indexOf(waiter);
          if (at < 0) return;
          this.waiters.splice(at, 1);
          reject(signal?.reason as Error);
          this.serve();
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
      this.serve();
    });
  }

  /** Hands out the tokens there are, oldest waiter first, and sets one timer for the next token if anyone still waits. */
  private serve(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.clock.nowMs();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    for (let w = this.waiters[0]; w && this.tokens >= 1; w = this.waiters[0]) {
      this.tokens -= 1;
      this.waiters.shift();
      w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    if (this.waiters.length === 0) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.serve();
    }, Math.max(1, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
  }
}
