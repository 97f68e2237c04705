// A watch that runs only while something needs it (pods while a resource selects by pods,
// ServiceAccounts while a resource patches them): `want(true)` starts an informer, `want(false)` stops it
// and forgets its objects, and `want(true)` with a different `variant` (e.g. the label keys to keep)
// replaces it with a fresh list. Handlers and indexes registered here follow every informer it makes.
// While not wanted its store is empty and it counts as synced; while (re)listing, as not synced.
// Stopping an informer (`want(false)`, a new variant, `stop()`) cancels its list and watch in flight at
// once, and the stopped informer's handlers never run again, even for a list answer already on its way.
import type { Informer, InformerHandlers } from './informer.ts';
import { Store, type IndexFunc, type KubeObject } from './store.ts';

export class OnDemandInformer<T extends KubeObject, V = undefined> {
  private current: { informer: Informer<T>; variant: V; key: string } | undefined;
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly indexes: [string, IndexFunc<T>][] = [];
  private readonly syncListeners: (() => void)[] = [];
  private readonly empty = new Store<T>();
  private readonly stopping = new Set<Promise<void>>();

  /**
   * `make` builds an informer for one variant (it is started here, never by the caller); `keyOf` tells
   * variants apart, so wanting an equal variant again keeps the running informer.
   */
  constructor(readonly resource: string, private readonly make: (variant: V) => Informer<T>, private readonly keyOf: (variant: V) => string = () => '') {}

  get store(): Store<T> {
    return this.current?.informer.store ?? this.empty;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** The variant of the running informer, if any. */
  get variant(): V | undefined {
    return this.current?.variant;
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
    this.current?.informer.on(handlers);
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    this.indexes.push([name, fn]);
    this.empty.addIndex(name, fn);
    this.current?.informer.store.addIndex(name, fn);
  }

  /** Called after each informer this makes completes its first list. */
  onSynced(listener: () => void): void {
    this.syncListeners.push(listener);
  }

  /** Starts, replaces (another variant) or stops the watch. */
  want(wanted: boolean, variant?: V): void {
    const v = variant as V;
    const key = wanted ? this.keyOf(v) : '';
    if (wanted && this.current?.key === key) return;
    if (this.current) {
      const stopped = this.current.informer.stop();
      this.stopping.add(stopped);
      void stopped.then(() => { this.stopping.delete(stopped); });
      this.current = undefined;
    }
    if (!wanted) return;
    const informer = this.make(v);
    for (const [name, fn] of this.indexes) informer.store.addIndex(name, fn);
    for (const h of this.handlers) informer.on(h);
    this.current = { informer, variant: v, key };
    informer.start();
    void informer.whenSynced().then(() => {
      if (this.current?.informer !== informer) return;
      for (const l of this.syncListeners) l();
    });
  }

  hasSynced(): boolean {
    return this.current?.informer.hasSynced() ?? true;
  }

  whenSynced(): Promise<void> {
    return this.current?.informer.whenSynced() ?? Promise.resolve();
  }

  sinceProgress(): number {
    return this.current?.informer.sinceProgress() ?? 0;
  }

  stallThresholdMs(): number {
    return this.current?.informer.stallThresholdMs() ?? Number.POSITIVE_INFINITY;
  }

  /** No-op: the watch starts when wanted. Present so it can stand wherever an informer is started. */
  start(): void {
    // started by want()
  }

  async stop(): Promise<void> {
    this.want(false);
    await Promise.all([...this.stopping]);
  }
}
