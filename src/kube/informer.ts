// An informer that does not stop: list, then watch from the list's resourceVersion with a server-side
// timeout; re-watch when the server ends the watch, re-list on 410 Gone, back off and retry on every other
// error, and abort a watch that has gone silent (a half-open connection never ends by itself).
// client-node's own informer stops on any error but 410 and sets no watch timeout; hence this one.
//
// Backoff, as client-go's reflector does it: a watch that ends within a second with no event counts as a
// failure (an API server or proxy that closes every watch at once would otherwise be hammered in a tight
// loop), and so does every error, a 410 Gone on a list included (an expired continue token: relist, after
// the backoff). Failures in a row grow the delay (backoffBaseMs doubling, jittered, up to backoffCapMs);
// a healthy watch — one that delivered an event or lasted a second — resets it. The one exception is a
// watch that expires (410) after healthy watching, the usual sign of etcd compaction: it relists at once.
//
// Stopping: `stop()`, or aborting the `signal` given in the options, cancels everything in flight at once —
// a list page (also while it waits for a rate-limit token or credentials), the watch stream, a backoff
// sleep — and from that moment no handler runs and the store no longer changes, even when a list answer
// arrives in the same instant. `stop()` resolves when the loop has ended. A stopped informer does not
// start again; `whenSynced()` of one stopped before its first list stays pending.
import { exponentialBackoff, type Backoff } from '../util/backoff.ts';
import { realClock, sleep, type Clock } from '../util/clock.ts';
import { isStatus, KubeApiError, METADATA_ACCEPT, METADATA_LIST_ACCEPT, type KubeRest } from './rest.ts';
import { objectKey, Store, type KubeObject } from './store.ts';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerLog {
  (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void;
}

export interface InformerOptions<T> {
  /** Resource name for logs and metrics, e.g. `pods`. */
  resource: string;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Ask for PartialObjectMetadata: labels and annotations without spec or status. */
  metadataOnly?: boolean;
  /** Shrinks what the cache keeps; the default drops managedFields. */
  transform?: (obj: unknown) => T;
  pageSize?: number;
  /** Lower bound of the watch timeout; each watch picks a value in [min, 2*min) like client-go. */
  minWatchTimeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
  clock?: Clock;
  log?: InformerLog;
  /** Stops the informer when it aborts, as `stop()` does. */
  signal?: AbortSignal;
}

interface ListResponse {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

function dropManagedFields(obj: unknown): KubeObject {
  const meta = (obj as { metadata?: { managedFields?: unknown } }).metadata;
  if (meta) delete meta.managedFields;
  return obj as KubeObject;
}

class GoneError extends Error {}

/** A watch that ends sooner than this with no event counts as failed (client-go's rule). */
export const SHORT_WATCH_MS = 1000;

/** How one watch went: the events it delivered and how long it lasted. */
interface WatchRun {
  events: number;
  ms: number;
}

export class Informer<T extends KubeObject> {
  readonly store = new Store<T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private synced = false;
  private lastProgress: number;
  private running: Promise<void> | undefined;
  private readonly syncedSignal = Promise.withResolvers<undefined>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly transform: (obj: unknown) => T;
  private readonly backoff: Backoff;

  constructor(private readonly rest: KubeRest, private readonly opts: InformerOptions<T>) {
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    // Many informers fail together when the API server restarts: jitter spreads their retries.
    this.backoff = exponentialBackoff({ baseMs: opts.backoffBaseMs ?? 200, capMs: opts.backoffCapMs ?? 30_000, jitter: 0.5, random: this.random });
    this.transform = opts.transform ?? ((obj) => dropManagedFields(obj) as T);
    this.lastProgress = this.clock.nowMs();
    // Removed again when the informer stops, so a long-lived signal does not collect dead informers.
    opts.signal?.addEventListener('abort', () => { this.abort.abort(); }, { once: true, signal: this.abort.signal });
    if (opts.signal?.aborted) this.abort.abort();
  }

  /** The resource name given in the options, for logs, metrics and health reports. */
  get resource(): string {
    return this.opts.resource;
  }

  /** Handlers run synchronously on the informer's loop; keep them to cheap cache reads and enqueues. */
  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves after the first complete list. */
  whenSynced(): Promise<void> {
    return this.syncedSignal.promise;
  }

  /** Milliseconds since the informer last made progress (a list, a watch opened, an event). */
  sinceProgress(): number {
    return this.clock.nowMs() - this.lastProgress;
  }

  /** The longest a healthy informer stays without progress: a full watch timeout plus slack. */
  stallThresholdMs(): number {
    return (2 * this.minWatchTimeout() + 60) * 1000;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Cancels the list, watch or backoff in flight; resolves once the loop has ended. No handler runs after this call. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private minWatchTimeout(): number {
    return this.opts.minWatchTimeoutSeconds ?? 300;
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string, fields: Record<string, unknown> = {}): void {
    this.opts.log?.(level, msg, { resource: this.opts.resource, ...fields });
  }

  private async loop(): Promise<void> {
    let failures = 0; // in a row, since the last healthy watch
    let needList = true;
    while (!this.stopped()) {
      let phase: 'list' | 'watch' = 'list';
      let delay: number;
      try {
        if (needList) await this.list();
        needList = false;
        phase = 'watch';
        const run = await this.watchOnce();
        if (this.stopped()) break;
        if (run.events > 0 || run.ms >= SHORT_WATCH_MS) {
          failures = 0;
          continue;
        }
        delay = this.backoff(++failures);
        this.log('warn', 'Watch ended at once with no event; re-watching after a backoff', { attempt: failures, delayMs: delay });
      } catch (err) {
        if (this.stopped()) break;
        const gone = err instanceof GoneError || isStatus(err, 410);
        needList ||= gone;
        delay = this.afterFailure(err, gone && phase === 'watch', ++failures);
      }
      await sleep(this.clock, delay, this.abort.signal);
    }
  }

  /** The delay before the next attempt after failure number `failures` in a row, logged. */
  private afterFailure(err: unknown, watchExpired: boolean, failures: number): number {
    if (watchExpired && failures === 1) {
      this.log('info', 'Watch expired; relisting');
      return 0;
    }
    const delay = this.backoff(failures);
    this.log('warn', 'List/watch failed; retrying', { error: describe(err), attempt: failures, delayMs: delay });
    return delay;
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  /** Pages through the collection, then reconciles the cache with it, emitting what changed. */
  private async list(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.rest.call<ListResponse>({
        method: 'GET', path: this.opts.path, accept: this.opts.metadataOnly ? METADATA_LIST_ACCEPT : 'application/json',
        query: { ...this.query(), limit: this.opts.pageSize ?? 500, continue: cont }, signal: this.abort.signal,
      });
      // An answer that arrived as the informer stopped is dropped: a stopped informer changes nothing.
      if (this.stopped()) throw new Error('informer stopped');
      for (const item of page.items ?? []) {
        const obj = this.transform(item);
        fresh.set(objectKey(obj), obj);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    this.replace(fresh);
    this.resourceVersion = rv;
    this.lastProgress = this.clock.nowMs();
    if (!this.synced) this.log('debug', 'Cache synced', { objects: fresh.size });
    this.synced = true;
    this.syncedSignal.resolve(undefined);
  }

  private replace(fresh: Map<string, T>): void {
    for (const key of [...this.store.keys()]) {
      if (!fresh.has(key)) {
        const gone = this.store.remove(key);
        if (gone) this.emit('delete', gone);
      }
    }
    for (const obj of fresh.values()) this.apply('MODIFIED', obj);
  }

  private apply(type: string, obj: T): void {
    if (type === 'DELETED') {
      const gone = this.store.remove(objectKey(obj));
      this.emit('delete', gone ?? obj);
      return;
    }
    const previous = this.store.upsert(obj);
    if (!previous) this.emit('add', obj);
    else if (previous.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj, previous);
  }

  private emit(kind: 'add' | 'update' | 'delete', obj: T, previous?: T): void {
    if (this.stopped()) return;
    for (const h of this.handlers) {
      try {
        if (kind === 'add') h.add?.(obj);
        else if (kind === 'update' && previous) h.update?.(previous, obj);
        else h.delete?.(obj);
      } catch (err) {
        this.log('warn', 'Event handler failed', { error: describe(err) });
      }
    }
  }

  private async watchOnce(): Promise<WatchRun> {
    const timeoutSeconds = Math.floor(this.minWatchTimeout() * (1 + this.random()));
    const silence = new AbortController();
    const onStop = () => { silence.abort(); };
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    // A watch that carries nothing for longer than its own timeout plus slack is dead: abort it.
    const silentMs = (timeoutSeconds + 30) * 1000;
    let watchdog = this.clock.setTimeout(() => { silence.abort(); }, silentMs);
    const run: WatchRun = { events: 0, ms: 0 };
    const started = this.clock.nowMs();
    try {
      this.lastProgress = started;
      await this.rest.watch({
        path: this.opts.path, accept: this.opts.metadataOnly ? METADATA_ACCEPT : 'application/json',
        query: { ...this.query(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
      }, (event) => {
        this.clock.clearTimeout(watchdog);
        watchdog = this.clock.setTimeout(() => { silence.abort(); }, silentMs);
        run.events++;
        this.handleEvent(event);
      }, silence.signal);
      if (silence.signal.aborted && !this.stopped()) throw new Error('watch went silent');
      run.ms = this.clock.nowMs() - started;
      return run;
    } finally {
      this.clock.clearTimeout(watchdog);
      silence.abort(); // releases the connection when a handler or a parse error ended the watch early
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  private handleEvent(event: { type: string; object: unknown }): void {
    if (this.stopped()) return;
    this.lastProgress = this.clock.nowMs();
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      if (status.code === 410) throw new GoneError('resourceVersion too old');
      throw new KubeApiError(status.code ?? 0, status.reason ?? 'Unknown', status.message ?? 'watch error');
    }
    const obj = this.transform(event.object);
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === 'BOOKMARK') return;
    this.apply(event.type, obj);
  }
}

function describe(err: unknown): string {
  if (err instanceof KubeApiError) return `${err.code} ${err.reason}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
