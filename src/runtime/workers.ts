// Workers: N loops that take keys from a WorkQueue, reconcile them and apply the result contract
// (result.ts). Observability lives here, not in domain code: the runtime creates the
// per-reconcile logger through an injected factory and reports every reconcile to an injected observer,
// so the composition root plugs in pino and prom-client while this file imports neither.
import { realClock, type Clock } from '../util/clock.ts';
import { dispositionOf, dispositionOfError, type Disposition, type ReconcileOutcome, type Result } from './result.ts';
import type { WorkQueue } from './work-queue.ts';

export interface ReconcileContext<L> {
  readonly key: string;
  /** 1 for the first try, n+1 after n consecutive failures of this key. */
  readonly attempt: number;
  /** Per-reconcile logger from the `logger` factory (undefined without one). */
  readonly log: L;
  /** Aborted when the workers are stopped; pass it to long calls so stop() is quick. */
  readonly signal: AbortSignal;
}

export type Reconcile<L> = (key: string, ctx: ReconcileContext<L>) => Promise<Result | undefined>;

export interface ReconcileObserver {
  started(key: string): void;
  finished(key: string, outcome: ReconcileOutcome, durationMs: number, err?: unknown): void;
}

interface BaseWorkerOptions<L> {
  queue: WorkQueue;
  /** Number of concurrent reconciles (of different keys), integer >= 1. */
  concurrency: number;
  reconcile: Reconcile<L>;
  /** Errors thrown by observer methods are ignored: metrics and logs never change what the loop does. */
  observer?: ReconcileObserver;
  /** Measures reconcile durations. Default realClock. */
  clock?: Clock;
  /**
   * Told of every failed reconcile (error or terminal) with its context, so the composition root logs it
   * with the per-reconcile logger. Errors it throws are ignored, as the observer's are.
   */
  onFailure?: (ctx: { key: string; attempt: number; log: L }, err: unknown) => void;
}

/** `logger` creates the child logger of one reconcile; required whenever the context expects one. */
export type WorkerOptions<L = undefined> = BaseWorkerOptions<L> &
  (undefined extends L
    ? { logger?: (key: string, attempt: number) => L }
    : { logger: (key: string, attempt: number) => L });

export interface WorkersHandle {
  /**
   * Milliseconds the loop has had work (keys ready or reconciles in flight) without finishing a single
   * reconcile; 0 while idle or progressing. A wedged loop grows this without bound (the /healthz watchdog).
   */
  stalledMs(): number;
  /**
   * Shuts the queue down (dropping the backlog, see WorkQueue.shutDown), aborts the reconciles' signal and
   * resolves when every in-flight reconcile has finished. Idempotent. To finish the backlog first, await
   * queue.shutDownWithDrain() before calling stop().
   */
  stop(): Promise<void>;
}

/** Starts `concurrency` workers on `opts.queue`. */
export function runWorkers<L = undefined>(opts: WorkerOptions<L>): WorkersHandle {
  const { queue, concurrency } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
  }
  const abort = new AbortController();
  const reconcileOne = processor(opts, abort.signal);
  const clock = opts.clock ?? realClock;
  let inFlight = 0;
  let lastProgressMs = clock.nowMs();
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      if (inFlight++ === 0) lastProgressMs = clock.nowMs();
      try {
        await reconcileOne(key);
      } finally {
        inFlight--;
        lastProgressMs = clock.nowMs();
        queue.done(key);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    stalledMs: () => (inFlight > 0 || queue.len() > 0 ? Math.max(0, clock.nowMs() - lastProgressMs) : 0),
    stop: async () => {
      abort.abort(new Error('cancelled: the workers stopped'));
      queue.shutDown();
      await Promise.all(workers);
    },
  };
}

/** Runs one reconcile and applies its disposition to the queue; never throws. */
function processor<L>(opts: WorkerOptions<L>, signal: AbortSignal): (key: string) => Promise<void> {
  const { queue, reconcile, observer } = opts;
  const clock = opts.clock ?? realClock;
  const { logger, onFailure } = opts;
  return async (key) => {
    const attempt = queue.retries(key) + 1;
    const startedAt = clock.nowMs();
    quietly(() => observer?.started(key));
    let disposition: Disposition;
    let log = undefined as L;
    try {
      log = logger ? logger(key, attempt) : log;
      disposition = dispositionOf(await reconcile(key, { key, attempt, log, signal }));
    } catch (err) {
      disposition = dispositionOfError(err);
    }
    apply(queue, key, disposition);
    const err = 'error' in disposition ? disposition.error : undefined;
    if ('error' in disposition) quietly(() => onFailure?.({ key, attempt, log }, disposition.error));
    quietly(() => observer?.finished(key, disposition.outcome, clock.nowMs() - startedAt, err));
  };
}

function apply(queue: WorkQueue, key: string, d: Disposition): void {
  switch (d.outcome) {
    case 'error':
      queue.addRateLimited(key);
      return;
    case 'requeue':
      queue.forget(key);
      queue.addAfter(key, d.afterMs);
      return;
    case 'success':
    case 'terminal':
      queue.forget(key);
      return;
  }
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // Deliberately ignored: see BaseWorkerOptions.observer.
  }
}
