// Keeps the daemon's MutatingWebhookConfiguration as configuration.ts describes it, on the leader: written
// while at least one resource asks for injection, deleted when none does, restored when someone edits or
// deletes it, and rewritten when the serving CA changes. One watch on that one name (a field selector, so
// RBAC can name it); every change, of ours or of the world, pokes one serial sync loop. An object of that
// name without our managed-by label is someone else's: it is left alone and logged.
import type { Logger } from 'pino';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/v1alpha1/labels.ts';
import { Informer } from '../kube/informer.ts';
import { isStatus, type KubeRest } from '../kube/rest.ts';
import type { KubeObject } from '../kube/store.ts';
import { exponentialBackoff } from '../util/backoff.ts';
import { realClock, type Clock, type TimerHandle } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { desiredConfiguration, drifted, MWC_API, type WebhookSettings } from './configuration.ts';

const PATH = `/apis/${MWC_API}/mutatingwebhookconfigurations`;

interface StoredConfiguration extends KubeObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string> };
  webhooks?: unknown;
}

export interface KeeperOptions {
  rest: KubeRest;
  settings: () => WebhookSettings;
  /** The Secret names resources inject, oldest resource first; empty when no resource asks for injection. */
  injected: () => string[];
  log: Logger;
  clock?: Clock;
}

export class WebhookKeeper {
  private readonly informer: Informer<StoredConfiguration>;
  private readonly clock: Clock;
  private readonly backoff = exponentialBackoff({ baseMs: 500, capMs: 60_000 });
  private failures = 0;
  private running = false;
  private again = false;
  private stopped = false;
  private retry: TimerHandle | undefined;
  private idle = Promise.resolve();
  private warnedForeign = false;

  constructor(private readonly opts: KeeperOptions) {
    this.clock = opts.clock ?? realClock;
    const name = opts.settings().name;
    this.informer = new Informer<StoredConfiguration>(opts.rest, {
      resource: 'mutatingwebhookconfigurations', path: PATH, fieldSelector: `metadata.name=${name}`,
      log: (level, msg, fields) => { opts.log[level](fields ?? {}, msg); },
    });
    const poke = () => { this.poke(); };
    this.informer.on({ add: poke, update: poke, delete: poke });
  }

  /** Starts the watch; the first sync runs once it has listed. */
  start(): void {
    this.informer.start();
    void this.informer.whenSynced().then(() => { this.poke(); });
  }

  /** Something the configuration depends on changed: sync soon (coalesced). */
  poke(): void {
    if (this.stopped || !this.informer.hasSynced()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) this.clock.clearTimeout(this.retry);
    await this.informer.stop();
    await this.idle;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.sync();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        const delay = this.backoff(this.failures);
        this.opts.log.warn({ error: errorMessage(err), retryInMs: Math.round(delay) }, 'Keeping the MutatingWebhookConfiguration failed; retrying');
        if (this.retry) this.clock.clearTimeout(this.retry);
        this.retry = this.clock.setTimeout(() => { this.retry = undefined; this.poke(); }, delay);
      }
    } while (this.pokedMeanwhile());
    this.running = false;
  }

  /** Whether a poke arrived while the loop ran (the loop then runs again). */
  private pokedMeanwhile(): boolean {
    return this.again && !this.stopped;
  }

  private async sync(): Promise<void> {
    const settings = this.opts.settings();
    const stored = this.informer.store.get(settings.name);
    const ours = stored?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
    if (stored && !ours) {
      if (!this.warnedForeign) this.opts.log.error({ name: settings.name }, 'A MutatingWebhookConfiguration of this name exists without our managed-by label; leaving it alone (delete it, or change the name)');
      this.warnedForeign = true;
      return;
    }
    this.warnedForeign = false;
    const secrets = this.opts.injected();
    if (secrets.length === 0) {
      if (stored) await this.remove(settings.name, stored.metadata.resourceVersion);
      return;
    }
    const desired = desiredConfiguration(settings, secrets);
    if (!drifted(stored, desired)) return;
    if (!stored) {
      await this.opts.rest.call({ method: 'POST', path: PATH, body: desired });
      this.opts.log.info({ name: settings.name }, 'MutatingWebhookConfiguration created');
      return;
    }
    const body = { ...desired, metadata: { ...desired.metadata, labels: { ...stored.metadata.labels, ...desired.metadata.labels }, resourceVersion: stored.metadata.resourceVersion } };
    await this.opts.rest.call({ method: 'PUT', path: `${PATH}/${settings.name}`, body });
    this.opts.log.info({ name: settings.name }, 'MutatingWebhookConfiguration updated');
  }

  private async remove(name: string, resourceVersion: string | undefined): Promise<void> {
    try {
      await this.opts.rest.call({ method: 'DELETE', path: `${PATH}/${name}`,
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion } } });
      this.opts.log.info({ name }, 'MutatingWebhookConfiguration deleted: no ImagePullSecret asks for injection');
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }
}
