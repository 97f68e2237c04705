// The reconcile result contract, after controller-runtime's pkg/reconcile:
// - return nothing: converged; the key's retry history is cleared;
// - return { requeueAfter: ms }: converged for now, reconcile again in ms (e.g. before a token expires);
// - throw: failed; retried with per-key exponential backoff;
// - throw TerminalError: failed in a way retrying cannot fix (e.g. an invalid spec); not retried until an
//   event adds the key again.
// A delay and an error never go together: a thrown reconcile returns no result.

export interface Result {
  /** Milliseconds until the key is reconciled again; 0 or less means as soon as possible. */
  readonly requeueAfter?: number;
}

/**
 * An error that retrying cannot fix. Wrap the cause (`new TerminalError(msg, { cause })`) to keep it for logs;
 * a TerminalError anywhere in an error's `cause` chain makes it terminal.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

/** True when `err` or any error in its `cause` chain is a TerminalError. */
export function isTerminalError(err: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = err; e instanceof Error && !seen.has(e); e = e.cause) {
    if (e instanceof TerminalError) return true;
    seen.add(e);
  }
  return false;
}

export type ReconcileOutcome = 'success' | 'requeue' | 'error' | 'terminal';

/** What the runtime does with the key after one reconcile. */
export type Disposition =
  | { readonly outcome: 'success' }
  | { readonly outcome: 'requeue'; readonly afterMs: number }
  | { readonly outcome: 'error'; readonly error: unknown }
  | { readonly outcome: 'terminal'; readonly error: unknown };

/** Maps a reconcile's return value to a disposition; an invalid requeueAfter is a programming error. */
export function dispositionOf(result: Result | undefined): Disposition {
  const after = result?.requeueAfter;
  if (after === undefined) return { outcome: 'success' };
  if (Number.isNaN(after) || after === Infinity) {
    return { outcome: 'error', error: new TypeError(`reconcile returned an invalid requeueAfter: ${after}`) };
  }
  return { outcome: 'requeue', afterMs: Math.max(0, after) };
}

/** Maps a thrown value to a disposition. */
export function dispositionOfError(error: unknown): Disposition {
  return isTerminalError(error) ? { outcome: 'terminal', error } : { outcome: 'error', error };
}
