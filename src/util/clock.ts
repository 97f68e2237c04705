// Time is injected: code that reads the time or schedules work takes a Clock, so tests
// drive it with FakeClock instead of sleeping.
//
// Timer lifetime: realClock timers are ordinary (ref'd) Node timers. We do not unref them, because an
// unref'd retry sleep in a one-shot command (`plan`, `validate`) would let the process exit in the middle
// of a retry. Instead every owner of a timer clears it when it stops; the work queue clears its single
// timer on shutdown, so a stopped queue never keeps the process alive.

declare const timerBrand: unique symbol;

/** Opaque handle of a timer; only the Clock that created it can clear it. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

export interface Clock {
  now(): Date;
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now (negative or NaN means as soon as possible). A timer may
   * fire early for delays past ~24.8 days (Node's limit); callers re-check the time when it fires.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a timer that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => new Date(),
  nowMs: () => Date.now(),
  // Node fires delays beyond 2^31−1 ms after 1 ms; clamping makes such a timer fire early instead, which
  // callers tolerate because they re-check the time when it fires.
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(MAX_TIMER_MS, Math.max(0, ms || 0))) as unknown as TimerHandle,
  clearTimeout: (handle) => { clearTimeout(handle as unknown as NodeJS.Timeout); },
};

/**
 * Resolves after `ms` on `clock`, or early (without rejecting) when `signal` aborts, so a retry loop can
 * check its stop condition right after the sleep.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface FakeTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
}

/** 2025-01-01T00:00:00Z: a fixed, recognisable default start so test output is stable. */
const DEFAULT_START_MS = Date.UTC(2025, 0, 1);

/**
 * A manual clock for tests. Time moves only through advance(); timers fire synchronously inside advance()
 * in due-time order (creation order for equal due times), each seeing now() equal to its due time.
 * Timers that a callback schedules within the advanced window fire in the same advance().
 */
export class FakeClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, FakeTimer>();

  constructor(start: Date | number = DEFAULT_START_MS) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  nowMs(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, dueMs: this.current + Math.max(0, ms || 0), fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as number);
  }

  /** Moves time forward by `ms` (>= 0), firing every timer that falls due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance needs a non-negative duration, got ${ms}`);
    const target = this.current + ms;
    for (let timer = this.earliest(target); timer; timer = this.earliest(target)) {
      this.timers.delete(timer.id);
      this.current = timer.dueMs;
      timer.fn();
    }
    this.current = target;
  }

  /** Due times (epoch ms) of the timers not yet fired or cleared, earliest first. */
  pendingTimers(): number[] {
    return [...this.timers.values()].map((t) => t.dueMs).sort((a, b) => a - b);
  }

  private earliest(limit: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers.values()) {
      // Map iteration follows insertion (= id) order, so `<` keeps the older of two equal due times.
      if (t.dueMs <= limit && (!best || t.dueMs < best.dueMs)) best = t;
    }
    return best;
  }
}
