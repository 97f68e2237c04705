// The runtime's public surface: a de-duplicating work queue with per-key backoff, the reconcile result
// contract, and the workers that connect them.
export { BackoffRateLimiter, DEFAULT_RECONCILE_BACKOFF, exponentialBackoff } from './backoff.ts';
export type { Backoff, BackoffOptions, RateLimiter } from './backoff.ts';
export { runWorkers } from './workers.ts';
export type { Reconcile, ReconcileContext, ReconcileObserver, WorkerOptions, WorkersHandle } from './workers.ts';
export { isTerminalError, TerminalError } from './result.ts';
export type { ReconcileOutcome, Result } from './result.ts';
export { WorkQueue } from './work-queue.ts';
export type { WorkQueueObserver, WorkQueueOptions } from './work-queue.ts';
