// The one work queue of the daemon, with client-go util/workqueue semantics:
// - a key is pending at most once: adding a pending key again is a no-op (de-duplication);
// - a key is never handed to two workers at once: a key added while a worker holds it is marked dirty
//   and handed out again only after done(key);
// - ready keys are handed out FIFO, except that addFirst(key) puts a key at the head (a pod waits on it).
// Delayed adds follow controller-runtime's priority queue: each key has at most one deadline and it only
// moves earlier; add(key) makes the key ready now and drops its deadline. A reconcile that still needs a
// later recheck says so again in its result. One timer serves all deadlines (the earliest).
import { realClock, type Clock, type TimerHandle } from '../util/clock.ts';
import { BackoffRateLimiter, type RateLimiter } from './backoff.ts';
import { DeadlineHeap, type DeadlineEntry } from './deadline-heap.ts';

/** Metric hooks; plain numbers so the composition root can plug in prom-client. Must not throw. */
export interface WorkQueueObserver {
  /** Ready keys waiting for a worker, after every change. */
  depth(n: number): void;
  /** A key became pending (de-duplicated adds are not counted). */
  adds(): void;
  /** addRateLimited() was called. */
  retries(): void;
  /** Time a key waited between becoming pending and being handed to a worker. */
  latency(ms: number): void;
  /** Time between get() handing out a key and done(key). */
  workDuration(ms: number): void;
}

export interface WorkQueueOptions {
  clock?: Clock;
  /** Default: BackoffRateLimiter with DEFAULT_RECONCILE_BACKOFF. */
  rateLimiter?: RateLimiter;
  observer?: WorkQueueObserver;
}

const noopObserver: WorkQueueObserver = {
  depth: () => undefined, adds: () => undefined, retries: () => undefined,
  latency: () => undefined, workDuration: () => undefined,
};

type State = 'running' | 'draining' | 'stopped';

export class WorkQueue {
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private readonly observer: WorkQueueObserver;
  private state: State = 'running';
  /** Ready keys not held by a worker, FIFO from `head`. */
  private ready: string[] = [];
  private head = 0;
  /** Keys that need processing (ready, or held and added again) → when they became pending. */
  private readonly dirty = new Map<string, number>();
  /** Keys held by a worker → when it got them. */
  private readonly processing = new Map<string, number>();
  /** The current deadline of each delayed key; heap entries not found here are superseded. */
  private readonly waiting = new Map<string, DeadlineEntry>();
  private readonly heap = new DeadlineHeap();
  private seq = 0;
  private timer: { handle: TimerHandle; atMs: number } | undefined;
  private getters: ((key: string | undefined) => void)[] = [];
  private drainers: (() => void)[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? new BackoffRateLimiter();
    this.observer = opts.observer ?? noopObserver;
  }

  /** Makes `key` ready now (ignored after shutdown). */
  add(key: string): void {
    if (this.state !== 'running') return;
    this.unwait(key);
    this.makePending(key);
  }

  /**
   * Makes `key` ready now, ahead of every other ready key: it moves to the head of the FIFO when it was
   * already waiting there. A key a worker holds is marked dirty as add(key) does (it runs again next, once
   * done). Used when something is waiting on that key's result now (a pod admitted into a namespace whose
   * Secret is not written yet).
   */
  addFirst(key: string): void {
    if (this.state !== 'running') return;
    this.unwait(key);
    if (this.processing.has(key)) {
      this.makePending(key);
      return;
    }
    if (this.dirty.has(key)) {
      const at = this.ready.indexOf(key, this.head);
      if (at === this.head) return;
      if (at > this.head) this.ready.splice(at, 1);
    } else {
      this.dirty.set(key, this.clock.nowMs());
      this.observer.adds();
      const getter = this.getters.shift();
      if (getter) {
        getter(this.take(key));
        return;
      }
    }
    if (this.head > 0) this.ready[--this.head] = key;
    else this.ready.unshift(key);
    this.observer.depth(this.len());
  }

  /** Makes `key` ready in `ms` unless it is pending sooner; `ms` <= 0 (or NaN) is add(key). */
  addAfter(key: string, ms: number): void {
    if (this.state !== 'running' || ms === Infinity) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    if (this.dirty.has(key)) return;
    const atMs = this.clock.nowMs() + ms;
    const current = this.waiting.get(key);
    if (current && current.atMs <= atMs) return;
    const entry = { key, atMs, seq: this.seq++ };
    this.waiting.set(key, entry);
    this.heap.push(entry);
    if (this.heap.size > 64 && this.heap.size > 2 * this.waiting.size) this.heap.rebuild([...this.waiting.values()]);
    this.arm();
  }

  /** Re-adds `key` after its next backoff delay and counts a retry. */
  addRateLimited(key: string): void {
    if (this.state !== 'running') return;
    this.observer.retries();
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the backoff history of `key`; does not remove it from the queue. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** Consecutive failures of `key` since it was last forgotten. */
  retries(key: string): number {
    return this.limiter.retries(key);
  }

  /** Ready keys waiting for a worker (neither delayed nor held). */
  len(): number {
    return this.ready.length - this.head;
  }

  isShuttingDown(): boolean {
    return this.state !== 'running';
  }

  /**
   * The next ready key, waiting if there is none; `undefined` once the queue is shut down (after
   * shutDownWithDrain: once every pending key has been handed out). The caller must call done(key).
   */
  get(): Promise<string | undefined> {
    const key = this.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.exhausted()) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Releases `key`; if it was added while held, it becomes ready again. Unknown keys are ignored. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    if (this.dirty.has(key)) this.enqueue(key);
    this.observer.workDuration(this.clock.nowMs() - started);
    this.settle();
  }

  /**
   * Stops at once: later adds are ignored, pending and delayed keys are dropped, and every get() resolves
   * undefined. Held keys may still be released with done(). Dropping the backlog is deliberate (unlike
   * client-go): the next start (or the next leader) lists everything again, and stopping must fit in the
   * termination grace period.
   */
  shutDown(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.cancelDelayed();
    this.ready = [];
    this.head = 0;
    this.dirty.clear();
    this.observer.depth(0);
    this.settle();
  }

  /**
   * Stops accepting adds and drops delayed keys, but keeps handing out the keys already pending (including
   * held keys added again) until none is left. Resolves when the last held key is done; workers must keep
   * calling get()/done() until get() resolves undefined, or this never resolves.
   */
  shutDownWithDrain(): Promise<void> {
    if (this.state === 'running') {
      this.state = 'draining';
      this.cancelDelayed();
    }
    const drained = new Promise<void>((resolve) => this.drainers.push(resolve));
    this.settle();
    return drained;
  }

  private makePending(key: string): void {
    if (this.dirty.has(key)) return;
    this.dirty.set(key, this.clock.nowMs());
    this.observer.adds();
    if (!this.processing.has(key)) this.enqueue(key);
  }

  /** Hands `key` straight to a waiting worker, or appends it to the ready FIFO. */
  private enqueue(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      getter(this.take(key));
      return;
    }
    this.ready.push(key);
    this.observer.depth(this.len());
  }

  private shift(): string | undefined {
    if (this.head >= this.ready.length) return undefined;
    const key = this.ready[this.head++];
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    this.observer.depth(this.len());
    return key;
  }

  private take(key: string): string {
    const now = this.clock.nowMs();
    const since = this.dirty.get(key) ?? now;
    this.dirty.delete(key);
    this.processing.set(key, now);
    this.observer.latency(now - since);
    return key;
  }

  /** No key will ever be handed out again. */
  private exhausted(): boolean {
    return this.state === 'stopped' || (this.state === 'draining' && this.dirty.size === 0);
  }

  private settle(): void {
    if (!this.exhausted()) return;
    for (const getter of this.getters.splice(0)) getter(undefined);
    if (this.processing.size > 0) return;
    for (const drained of this.drainers.splice(0)) drained();
  }

  private unwait(key: string): void {
    const entry = this.waiting.get(key);
    if (!entry) return;
    this.waiting.delete(key);
    if (this.timer?.atMs === entry.atMs) this.arm();
  }

  /** Points the single timer at the earliest current deadline (or cancels it when there is none). */
  private arm(): void {
    let top = this.heap.peek();
    while (top && this.waiting.get(top.key) !== top) {
      this.heap.pop();
      top = this.heap.peek();
    }
    if (this.timer && this.timer.atMs === top?.atMs) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    if (!top) return;
    const handle = this.clock.setTimeout(() => { this.fire(); }, top.atMs - this.clock.nowMs());
    this.timer = { handle, atMs: top.atMs };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.nowMs();
    for (let top = this.heap.peek(); top && top.atMs <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.waiting.get(top.key) !== top) continue;
      this.waiting.delete(top.key);
      this.makePending(top.key);
    }
    this.arm();
  }

  private cancelDelayed(): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.waiting.clear();
    this.heap.clear();
  }
}
