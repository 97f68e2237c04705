// The controller: caches, one work queue, two reconcilers behind it, and the wiring between them.
// Caches can run without workers (a standby under leader election keeps them warm); only the workers
// write.
import type { Logger } from 'pino';
import { DATA_HASH_ANNOTATION } from '../api/v1alpha1/labels.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { KubeRest } from '../kube/rest.ts';
import type { Writes } from '../kube/writes.ts';
import type { ResourceSample } from '../metrics/collectors.ts';
import { runWorkers, WorkQueue, type ReconcileObserver, type WorkersHandle, type WorkQueueObserver } from '../runtime/index.ts';
import { realClock, type Clock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { allInformers, BY_OWNER, createCaches, WITH_ADDED, type Caches, type Watch } from './watch/caches.ts';
import { wireEvents } from './watch/event-mapping.ts';
import { ipsKey, parseKey, targetKey } from './watch/keys.ts';
import { reconcileResource } from './reconcile/resource-reconciler.ts';
import { SelectionCache } from './decide/selection-cache.ts';
import { ForeignSecrets } from './watch/foreign-secrets.ts';
import { ServiceAccountSync } from './reconcile/service-accounts.ts';
import type { TokenCache } from '../credentials/index.ts';
import { BuilderView } from './builder-access.ts';
import { AdmissionView } from './admission-view.ts';
import { CloudSourceResolver, type CloudProviders } from './decide/cloud-sources.ts';
import { SourceResolver } from './decide/sources.ts';
import { ControllerState } from './reconcile/state.ts';
import { reconcileTarget } from './reconcile/target-reconciler.ts';
import { watchNeeds } from './watch/watch-needs.ts';
import { InjectionPolicyWatch } from './watch/injection-policies.ts';
import { InjectionPolicySync } from './reconcile/injection-policies.ts';

export interface ControllerOptions {
  rest: KubeRest;
  writes: Writes;
  events: EventRecorder;
  log: Logger;
  concurrency: number;
  clock?: Clock;
  /** Cloud credential providers and the token cache in front of them; without, only Secret sources. */
  cloud?: { providers: CloudProviders; cache: TokenCache };
  queueObserver?: WorkQueueObserver;
  reconcileObserver?: ReconcileObserver;
  /** How soon a resource's status is recomputed after a namespace changed (coalesces bursts). */
  statusDelayMs?: number;
  minWatchTimeoutSeconds?: number;
  /** Replace Secrets IMPS wrote for a resource of the same name instead of reporting a Conflict. */
  adoptImpsSecrets?: boolean;
  /** A Secret was created in a namespace the daemon saw appear `latencyMs` ago (metrics). */
  onNewNamespaceServed?: (latencyMs: number) => void;
}

export class Controller {
  readonly caches: Caches;
  readonly state = new ControllerState();
  private readonly queue: WorkQueue;
  private readonly selection: SelectionCache;
  private readonly resolver: SourceResolver;
  private readonly foreign: ForeignSecrets;
  private injection: { watch: InjectionPolicyWatch; sync: InjectionPolicySync } | undefined;
  private readonly clock: Clock;
  private workers: WorkersHandle | undefined;
  /** Namespaces that appeared after the initial sync and have no Secret yet: when we first saw them. */
  private readonly newNamespaces = new Map<string, number>();

  constructor(private readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? realClock;
    const log = opts.log.child({ component: 'informer' });
    this.caches = createCaches(opts.rest, {
      log: (level, msg, fields) => { log[level](fields ?? {}, msg); },
      minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds,
    });
    this.queue = new WorkQueue({ clock: this.clock, observer: opts.queueObserver });
    this.selection = new SelectionCache(this.caches);
    const cloud = opts.cloud && new CloudSourceResolver(this.caches.sourceSecrets, opts.cloud.providers, opts.cloud.cache, (owner) => ({
      ips: this.caches.imagePullSecrets.store.get(owner),
      payload: uniformPayload(this.caches, owner),
    }));
    this.resolver = new SourceResolver(this.caches.sourceSecrets, cloud);
    this.foreign = new ForeignSecrets(opts.rest, { log: (level, msg, fields) => { log[level](fields ?? {}, msg); },
      minWatchTimeoutSeconds: opts.minWatchTimeoutSeconds });
    this.foreign.onChange((name, namespace) => { this.queue.add(targetKey(name, namespace)); });
    // Before wireEvents: a resource that starts selecting by pods must find the pod watch (re)listing.
    const needsChanged = () => { if (this.caches.imagePullSecrets.hasSynced()) this.updateWatches(); };
    this.caches.imagePullSecrets.on({ add: needsChanged, update: needsChanged, delete: needsChanged });
    this.caches.serviceAccounts.on({ update: needsChanged, delete: needsChanged });
    wireEvents(this.caches, this.selection, (key, afterMs = 0) => { this.queue.addAfter(key, afterMs); });
    this.caches.namespaces.on({
      add: (ns) => { if (this.caches.namespaces.hasSynced()) this.newNamespaces.set(ns.metadata.name, this.clock.nowMs()); },
      delete: (ns) => { this.newNamespaces.delete(ns.metadata.name); },
    });
    this.caches.managedSecrets.on({ add: (secret) => { this.served(secret.metadata.namespace); } });
  }

  /**
   * The policy engine injects pull Secrets at admission: the daemon keeps a MutatingAdmissionPolicy and
   * binding per resource that asks; `daemonNamespace` is its own, which they leave alone. Before startCaches.
   */
  useInjectionPolicies(daemonNamespace: string): void {
    if (this.injection) return;
    const log = this.opts.log.child({ component: 'informer' });
    const watch = new InjectionPolicyWatch(this.opts.rest, { log: (level, msg, fields) => { log[level](fields ?? {}, msg); },
      minWatchTimeoutSeconds: this.opts.minWatchTimeoutSeconds });
    watch.onChange((owner) => { this.queue.add(ipsKey(owner)); });
    this.injection = { watch, sync: new InjectionPolicySync(watch, daemonNamespace) };
  }

  /** Every watch: the caches' and, with the policy engine, its policies and bindings. */
  private watches(): Watch[] {
    return [...allInformers(this.caches), ...(this.injection?.watch.informers ?? [])];
  }

  private served(namespace: string | undefined): void {
    const seen = namespace === undefined ? undefined : this.newNamespaces.get(namespace);
    if (seen === undefined || namespace === undefined) return;
    this.newNamespaces.delete(namespace);
    this.opts.onNewNamespaceServed?.(this.clock.nowMs() - seen);
  }

  /** Per-resource facts for scrape-time metrics, read from the caches and in-memory state. */
  resourceSamples(): ResourceSample[] {
    return [...this.caches.imagePullSecrets.store.list()].map((ips) => {
      const name = ips.metadata.name;
      const ready = ips.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? 1 : 0;
      return {
        name, ready,
        managedSecrets: this.caches.managedSecrets.store.byIndex(BY_OWNER, name).length,
        conflicts: this.state.peek(name)?.conflicts.size ?? 0,
        sources: (ips.status?.sources ?? []).map((s) => ({ reference: s.reference, kind: s.kind,
          ...(s.expiresAt ? { expiresAt: new Date(s.expiresAt) } : {}),
          ...(s.lastRefreshTime ? { lastRefreshTime: new Date(s.lastRefreshTime) } : {}) })),
      };
    });
  }

  /** The builder front's view of resources and their credentials. */
  builderView(): BuilderView {
    return new BuilderView(this.caches, this.state);
  }

  /** The admission webhook's view: namespaces and the resources injecting into them, from the caches. */
  admissionView(ownNamespace: string): AdmissionView {
    return new AdmissionView(this.caches, ownNamespace);
  }

  /**
   * A pod was admitted into `namespace`, where resource `name` has not written its Secret yet: that
   * Secret's reconcile goes to the head of the queue (on the leader; a standby runs no workers and its
   * queue takes nothing). In memory only.
   */
  hurry(name: string, namespace: string): void {
    if (this.workers) this.queue.addFirst(targetKey(name, namespace));
  }

  /** Where a work key goes, for metrics labels. */
  static controllerOf(key: string): 'resource' | 'target' {
    return parseKey(key)?.kind === 'target' ? 'target' : 'resource';
  }

  /**
   * Starts the pod and ServiceAccount watches while some resource needs them and stops them when none
   * does; ServiceAccounts stay watched while one still carries entries we added, so they get removed.
   */
  private updateWatches(): void {
    const needs = watchNeeds(this.caches.imagePullSecrets.store.list());
    this.caches.pods.want(needs.pods !== undefined, needs.pods);
    const sa = this.caches.serviceAccounts;
    const leftovers = sa.running && !sa.store.indexValues(WITH_ADDED).next().done;
    sa.want(needs.serviceAccounts || leftovers);
  }

  /** Starts every watch; resolves once the caches are synced. */
  async startCaches(): Promise<void> {
    for (const informer of this.watches()) informer.start();
    // The optional watches follow the resources: known once those are listed.
    await this.caches.imagePullSecrets.whenSynced();
    this.updateWatches();
    await Promise.all(this.watches().map((i) => i.whenSynced()));
  }

  cachesSynced(): boolean {
    return this.watches().every((i) => i.hasSynced());
  }

  /** Names of watches that made no progress for longer than they may (for /healthz). */
  stalledWatches(): string[] {
    const stalled = this.watches().filter((i) => i.sinceProgress() > i.stallThresholdMs()).map((i) => i.resource);
    return [...stalled, ...[...this.caches.sourceSecrets.stalled(), ...this.foreign.stalled()].map((ref) => `secret ${ref}`)];
  }

  /** Starts the workers (the leader only); every resource is reconciled once to converge. */
  startWorkers(): void {
    if (this.workers) return;
    const log = this.opts.log;
    this.workers = runWorkers<Logger>({
      queue: this.queue,
      concurrency: this.opts.concurrency,
      clock: this.clock,
      observer: this.opts.reconcileObserver,
      logger: (key, attempt) => log.child({ ...reconcileFields(key), attempt }),
      // Every failed reconcile is worth a line: the error is already safe to show (KubeApiError carries the
      // server's Status message, token errors are scrubbed by the token cache).
      onFailure: ({ log: l }, err) => { l.warn({ error: errorMessage(err) }, 'Reconcile failed; retrying with backoff'); },
      reconcile: (key, ctx) => this.reconcile(key, ctx.log, ctx.signal),
    });
    for (const ips of this.caches.imagePullSecrets.store.list()) this.queue.add(ipsKey(ips.metadata.name));
  }

  /** How long the work loop has had work without finishing a reconcile (0 when idle or without workers). */
  workStalledMs(): number {
    return this.workers?.stalledMs() ?? 0;
  }

  /**
   * Stops the workers only (leadership lost, or the start of a shutdown): the queue takes no more work and
   * every in-flight reconcile's signal aborts, which cancels its API calls (each write, Event and list)
   * at once. Resolves when the reconciles have returned.
   */
  stopWorkers(): Promise<void> {
    return this.workers?.stop() ?? Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    await Promise.all([...this.watches().map((i) => i.stop()), this.caches.sourceSecrets.stop(), this.foreign.stop()]);
  }

  private async reconcile(key: string, log: Logger, signal: AbortSignal): Promise<{ requeueAfter?: number } | undefined> {
    const work = parseKey(key);
    if (!work) {
      log.error('Dropping malformed work key');
      return undefined;
    }
    // Every call of this reconcile ends when the workers stop, so a shutdown never waits for its writes.
    const writes = this.opts.writes.under(signal);
    const serviceAccounts = new ServiceAccountSync(this.caches, writes);
    if (work.kind === 'ips') {
      if (!this.caches.imagePullSecrets.store.get(work.name)) this.foreign.forget(work.name);
      return reconcileResource({
        caches: this.caches, state: this.state, selection: this.selection, resolver: this.resolver, writes,
        events: this.opts.events, serviceAccounts, clock: this.clock, signal,
        enqueueTarget: (name, namespace) => { this.queue.add(targetKey(name, namespace)); },
        ...(this.injection ? { injection: this.injection.sync } : {}),
      }, work.name);
    }
    const errors = this.state.of(work.name).writeErrors;
    try {
      const result = await reconcileTarget({
        caches: this.caches, state: this.state, selection: this.selection, writes,
        serviceAccounts, foreign: this.foreign, adoptImpsSecrets: this.opts.adoptImpsSecrets ?? false,
        statusChanged: (name) => { this.queue.addAfter(ipsKey(name), this.opts.statusDelayMs ?? 500); },
      }, work.name, work.namespace);
      errors.delete(work.namespace);
      this.state.of(work.name).pendingTargets.delete(work.namespace);
      return result;
    } catch (err) {
      errors.set(work.namespace, errorMessage(err));
      this.queue.addAfter(ipsKey(work.name), this.opts.statusDelayMs ?? 500);
      throw err;
    }
  }
}

/** Log fields of a work key: the resource and, for a target, its namespace. */
function reconcileFields(key: string): Record<string, string> {
  const work = parseKey(key);
  if (!work) return { key };
  return work.kind === 'target' ? { resource: work.name, namespace: work.namespace } : { resource: work.name };
}

/**
 * The value every Secret of `owner` carries, intact; undefined when they differ (a rollout of new
 * credentials was cut short), so a restart does not take a token some of them may not carry.
 */
function uniformPayload(caches: Caches, owner: string): string | undefined {
  const secrets = caches.managedSecrets.store.byIndex(BY_OWNER, owner);
  const hash = secrets[0]?.metadata.annotations?.[DATA_HASH_ANNOTATION];
  const uniform = secrets.every((s) => s.intact && s.metadata.annotations?.[DATA_HASH_ANNOTATION] === hash);
  return uniform ? caches.writtenPayloads.of(owner, secrets) : undefined;
}
