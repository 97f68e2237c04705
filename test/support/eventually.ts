// Polling with a deadline: the only way integration tests wait. No fixed sleeps.
export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string;
}

/**
 * Calls `probe` until it returns without throwing and its result is not `false`/`undefined`; returns
 * that result. On timeout, rethrows the last failure with `message` prepended.
 */
export async function eventually<T>(probe: () => Promise<T> | T, opts: EventuallyOptions = {}): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
      last = new Error('condition not met');
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const reason = last instanceof Error ? last.message : String(last);
      throw new Error(`${opts.message ?? 'eventually'}: timed out after ${opts.timeoutMs ?? 10_000} ms: ${reason}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** Unique, DNS-label-safe names so tests sharing one bed never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}
