// What the process does with an error nothing caught. Every request and reconcile catches its own
// errors, so one reaching the process is a bug; ending the process for it would end every namespace's
// reconciler with it (the controller, the builder front and leader election share the process). So it is
// logged and counted (`pullsecret_sync_process_errors_total`), and the process goes on: the health
// checks (a stalled watch, a wedged work loop) restart a process the error really broke. The log line
// carries the error's class, code and stack frames, never its message, which may quote input
// (a parser's message quotes the text it parsed).
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';

export type ProcessErrorKind = 'unhandledRejection' | 'uncaughtException';

export interface ProcessGuard {
  /** Counts into `count` from now on, including what happened before. */
  countInto(count: (kind: ProcessErrorKind) => void): void;
  /** Removes the handlers. */
  close(): void;
}

/** The fields of an uncaught error that are safe to log: class, code and stack frames without the message. */
export function safeErrorFields(err: unknown): { error: string; code?: string; stack?: string } {
  if (!(err instanceof Error)) return { error: typeof err };
  const code = (err as { code?: unknown }).code;
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).map((l) => l.trim());
  return { error: err.name, ...(typeof code === 'string' ? { code } : {}), ...(frames.length ? { stack: frames.join('\n') } : {}) };
}

/** Handles `target`'s (the process's) uncaught errors; tests pass an emitter of their own. */
export function guardProcess(log: Logger, target: Pick<EventEmitter, 'on' | 'off'> = process): ProcessGuard {
  const pending: ProcessErrorKind[] = [];
  let counter: ((kind: ProcessErrorKind) => void) | undefined;
  const report = (kind: ProcessErrorKind, err: unknown) => {
    log.error({ kind, ...safeErrorFields(err) }, 'An error reached the process; continuing');
    if (counter) counter(kind);
    else pending.push(kind);
  };
  const onRejection = (reason: unknown) => { report('unhandledRejection', reason); };
  const onException = (err: unknown) => { report('uncaughtException', err); };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return {
    countInto(count) {
      counter = count;
      for (const kind of pending.splice(0)) count(kind);
    },
    close() {
      target.off('unhandledRejection', onRejection);
      target.off('uncaughtException', onException);
    },
  };
}
