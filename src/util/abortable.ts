// For calls that take no AbortSignal (SDK credential chains, library token clients): stop waiting for
// them when the signal aborts. The call itself runs on; only its answer is no longer awaited.

/** `work`, or a rejection with `message` as soon as `signal` aborts. */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, message: string): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(new Error(message)); };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort); });
  });
}
