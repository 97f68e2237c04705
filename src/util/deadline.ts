// Deadlines, the one way a bounded wait is written. A deadline is an AbortSignal that aborts on a timer of
// the injected Clock (so tests drive it with FakeClock) or as soon as a parent signal aborts (a caller's
// cancel, a shutdown). Start it before any queueing, so it covers the rate limiter's wait, the connection
// and the answer alike. withDeadline also stops waiting for work that ignores its signal, and abortable
// does that for calls that take no signal at all (SDK credential chains, library token clients): the
// call itself runs on; only its answer is no longer awaited.
import type { Clock } from './clock.ts';

export interface DeadlineOptions {
  clock: Clock;
  /** How long from now, in milliseconds. */
  ms: number;
  /** The error the signal aborts with when time is up: say what got no answer, and within how long. */
  timeoutError: () => Error;
  /** Aborts the deadline early, with this signal's own reason. */
  signal?: AbortSignal | undefined;
}

export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and lets go of the parent signal; call it once the work is done. */
  readonly clear: () => void;
}

/**
 * Calls `fn` once when `signal` aborts, at once if it already has; the returned function unsubscribes
 * (call it when the wait ends otherwise, so listeners do not pile up on a long-lived signal).
 */
export function whenAborted(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => { signal.removeEventListener('abort', fn); };
}

/** A signal that aborts at the deadline (with `timeoutError()`) or when `signal` aborts (with its reason). */
export function deadline({ clock, ms, timeoutError, signal: parent }: DeadlineOptions): Deadline {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => { controller.abort(timeoutError()); }, ms);
  const detach = whenAborted(parent, () => { controller.abort(parent?.reason); });
  return {
    signal: controller.signal,
    clear: () => {
      clock.clearTimeout(timer);
      detach();
    },
  };
}

/**
 * `work(signal)` under a deadline: it settles as the work does, or rejects with the signal's reason the
 * moment the deadline passes or `signal` aborts, even when the work ignores its signal.
 */
export async function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, options: DeadlineOptions): Promise<T> {
  const { signal, clear } = deadline(options);
  try {
    return await abortable(work(signal), signal);
  } finally {
    clear();
  }
}

/** Why `signal` aborted, as an Error. */
const reasonOf = (signal: AbortSignal): Error => (signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));

/**
 * `work`, or a rejection as soon as `signal` aborts: with an Error of `message` when given, else with the
 * signal's reason.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, message?: string): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const detach = whenAborted(signal, () => { reject(message === undefined ? reasonOf(signal) : new Error(message)); });
    work.then(resolve, reject).finally(detach);
  });
}
