// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a candidate
// takes the Lease when it is free or its holder has not renewed it for a lease duration, renews it every
// retry period, and gives up leadership when it could not renew within the renew deadline. Writes are
// optimistic (resourceVersion), so two candidates never both win.
//
// The takeover rule (client-go's observedTime): a Lease record is dated at the moment this replica first
// saw it, on this replica's clock, never earlier. A standby that could not look for a while (its link to
// the API server was cut) therefore sees a renewed Lease as fresh when it looks again, however long ago
// its last successful look was; only a record it has itself seen unchanged for the lease duration is
// expired. Clock skew between nodes does not matter: only durations on one clock are compared.
//
// The guarantee (docs/reliability.md, docs/adr/0004-leader-election.md): isLeader() is true only until
// `renewDeadline` after the start of the last successful renewal, whatever the network does, because each
// attempt, its rate-limiter wait included, runs under that very deadline and isLeader() reads the clock
// rather than a flag. A standby writes the Lease no earlier than `leaseDuration` after it saw that
// renewal, which the API server stored after the renewal started; so with the defaults (LEASE_TIMING) the
// old leader has stopped writing >= 5 s before a new one starts. A takeover based on a stale read fails on
// the resourceVersion precondition. Losing the Lease is final: the elector stops campaigning and the
// process is expected to exit.
//
// A standby also watches the Lease, so a leader's release (SIGTERM, a rollout) is taken within moments
// instead of at the standby's next attempt up to a retry period later: during that gap nobody writes, and
// a pod created meanwhile in a new namespace pulls before its Secret exists. The watch only wakes the
// standby early; every decision is still the attempt's own read and optimistic write, and without the
// watch (refused by RBAC, cut, ended) the attempts every retry period remain.
import { exponentialBackoff } from '../util/backoff.ts';
import type { Clock } from '../util/clock.ts';
import { sleep } from '../util/clock.ts';
import { withDeadline } from '../util/deadline.ts';
import { isStatus, KubeApiError, KubeTimeoutError, type KubeRest } from './rest.ts';

/**
 * What the elector needs of an API client. The daemon gives it a KubeRest of its own, with its own small
 * rate limit (LEASE_CLIENT), so a renewal never waits behind controller or builder calls. Without `watch`
 * a standby notices a release at its next attempt.
 */
export type LeaseApi = Pick<KubeRest, 'call'> & Partial<Pick<KubeRest, 'watch'>>;

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock: Clock;
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /**
   * Election cannot proceed until the operator acts (the Lease namespace is missing): called with that
   * problem when it starts, and with undefined once it is gone. Retries back off meanwhile.
   */
  onBlocked?(problem: 'NamespaceNotFound' | undefined): void;
  log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

/** The API server's answer to creating a Lease in a namespace that does not exist. */
export function isMissingNamespace(err: unknown, namespace: string): boolean {
  return err instanceof KubeApiError && err.code === 404 && err.message.includes(`namespaces "${namespace}" not found`);
}

/** Delay before attempt `n` (1-based) while the namespace is missing: from two retry periods to 5 minutes. */
export const missingNamespaceBackoff = (retryMs: number) => exponentialBackoff({ baseMs: 2 * retryMs, capMs: 300_000 });

/** client-go's timing, the daemon's: the hand-over bounds in README and docs/reliability.md follow from it. */
export const LEASE_TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

/**
 * The rate limit of the Lease's own client: an attempt is a GET and at most one PUT per retry period, and
 * the burst lets a release follow a renewal at once.
 */
export const LEASE_CLIENT = { qps: 5, burst: 10 } as const;

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

const microTime = (d: Date) => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly abort = new AbortController();
  private leading = false;
  /** The Lease record as last seen, and when (our clock) we first saw it so. */
  private observed: { record: string; atMs: number } | undefined;
  /** While someone else holds the Lease: when (our clock) it expires unless it changes. */
  private heldUntilMs: number | undefined;
  private running: Promise<void> | undefined;
  private blockedAttempts = 0;
  /** When the last successful acquire/renew attempt started (our clock). */
  private lastRenewMs = 0;
  /** A standby's watch on the Lease while it runs; never started again once refused (RBAC). */
  private watching: AbortController | undefined;
  private watchRefused = false;
  /** The watch saw the Lease released or deleted: the next pause is skipped. */
  private released = false;
  /** The pause between attempts, which a release cuts short. */
  private nap: AbortController | undefined;

  constructor(private readonly rest: LeaseApi, private readonly opts: LeaderElectionOptions) {}

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`;
  }

  private get durations() {
    return {
      lease: this.opts.leaseDurationMs ?? LEASE_TIMING.leaseDurationMs,
      renew: this.opts.renewDeadlineMs ?? LEASE_TIMING.renewDeadlineMs,
      retry: this.opts.retryPeriodMs ?? LEASE_TIMING.retryPeriodMs,
    };
  }

  /** True while the Lease is held and its last renewal started less than the renew deadline ago. */
  isLeader(): boolean {
    return this.leading && this.opts.clock.nowMs() - this.lastRenewMs < this.durations.renew;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops campaigning (an attempt in flight is abandoned); a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (this.isLeader()) await this.release();
  }

  private async loop(): Promise<void> {
    const { renew } = this.durations;
    while (!this.abort.signal.aborted) {
      const startedMs = this.opts.clock.nowMs();
      // A leader's attempt must finish before its renew deadline; a candidate's within one renew deadline.
      const deadlineMs = this.leading ? this.lastRenewMs + renew : startedMs + renew;
      const outcome = await this.bounded(deadlineMs, (signal) => this.tryAcquireOrRenew(signal)).catch((err: unknown) => {
        if (isMissingNamespace(err, this.opts.namespace)) return 'blocked' as const;
        if (!this.abort.signal.aborted) this.opts.log?.('warn', 'Lease update failed', { error: err instanceof Error ? err.message : String(err) });
        return false;
      });
      this.setBlocked(outcome === 'blocked');
      if (outcome === true) {
        this.lastRenewMs = startedMs;
        if (!this.leading) {
          this.leading = true;
          this.opts.log?.('info', 'Became leader', { lease: `${this.opts.namespace}/${this.opts.name}` });
          this.opts.onStartedLeading();
        }
      } else if (this.leading && this.opts.clock.nowMs() - this.lastRenewMs >= renew) {
        this.leading = false;
        this.opts.log?.('warn', 'Lost leadership: could not renew the Lease within the renew deadline', { renewDeadlineMs: renew });
        this.opts.onStoppedLeading();
        return;
      }
      if (this.leading || outcome === 'blocked') this.unwatch();
      else this.watchForRelease();
      await this.pause(this.nextDelayMs(outcome === 'blocked'));
    }
    this.unwatch();
  }

  /** Waits `ms` before the next attempt; not at all, or no longer, once a standby saw the Lease released. */
  private async pause(ms: number): Promise<void> {
    const skip = this.released && !this.leading;
    this.released = false;
    if (skip) return;
    const nap = new AbortController();
    this.nap = nap;
    await sleep(this.opts.clock, ms, AbortSignal.any([this.abort.signal, nap.signal]));
    this.nap = undefined;
  }

  /**
   * While a standby: watches the Lease and wakes the loop when it is released (no holder) or deleted. A
   * watch that ends is started again after the next attempt, so at most once per retry period.
   */
  private watchForRelease(): void {
    if (this.watching || this.watchRefused || !this.rest.watch) return;
    const own = new AbortController();
    this.watching = own;
    const query = { fieldSelector: `metadata.name=${this.opts.name}`, timeoutSeconds: 300 };
    this.rest.watch({ path: this.path, query }, (event) => {
      const lease = event.object as Lease | undefined;
      const free = event.type === 'DELETED' || ((event.type === 'ADDED' || event.type === 'MODIFIED') && !lease?.spec?.holderIdentity);
      if (free && !this.leading) {
        this.released = true;
        this.nap?.abort();
      }
    }, AbortSignal.any([this.abort.signal, own.signal])).catch((err: unknown) => {
      if (!isStatus(err, 403)) return;
      this.watchRefused = true;
      this.opts.log?.('info', 'Watching the Lease is not permitted; a released Lease is taken at the next attempt instead (grant watch on leases)',
        { error: err instanceof Error ? err.message : String(err) });
    }).finally(() => {
      if (this.watching === own) this.watching = undefined;
    });
  }

  private unwatch(): void {
    this.watching?.abort();
    this.watching = undefined;
  }

  /**
   * Every retry period; while the namespace is missing, with backoff; a standby also looks again the
   * moment the Lease it watches would expire, so a takeover after a crash is not late by a retry period.
   */
  private nextDelayMs(blocked: boolean): number {
    const { retry } = this.durations;
    if (blocked) {
      const delay = missingNamespaceBackoff(retry)(this.blockedAttempts);
      this.opts.log?.('debug', 'Lease namespace not found; retrying', { namespace: this.opts.namespace, retryInMs: delay });
      return delay;
    }
    const untilExpiryMs = this.leading || this.heldUntilMs === undefined ? 0 : this.heldUntilMs - this.opts.clock.nowMs();
    // Past the expiry (a takeover that failed) the next try waits a whole retry period.
    return untilExpiryMs > 0 ? Math.min(retry, untilExpiryMs) : retry;
  }

  private setBlocked(blocked: boolean): void {
    const was = this.blockedAttempts > 0;
    this.blockedAttempts = blocked ? this.blockedAttempts + 1 : 0;
    if (blocked !== was) this.opts.onBlocked?.(blocked ? 'NamespaceNotFound' : undefined);
  }

  /**
   * Runs `work` under a signal that aborts at `deadlineMs` on our clock (and, if stoppable, when the
   * elector stops); the answer is not awaited past that moment, whatever the client does with the
   * signal. Every wait inside (the client's rate limiter, the connection, the answer) counts against it.
   */
  private bounded<T>(deadlineMs: number, work: (signal: AbortSignal) => Promise<T>, { stoppable = true } = {}): Promise<T> {
    const ms = deadlineMs - this.opts.clock.nowMs();
    return withDeadline(work, {
      clock: this.opts.clock, ms, timeoutError: () => new KubeTimeoutError(`Lease: no answer within ${ms} ms`),
      signal: stoppable ? this.abort.signal : undefined,
    });
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.opts.clock.now();
    let current: Lease;
    try {
      current = await this.rest.call<Lease>({ method: 'GET', path: `${this.path}/${this.opts.name}`, signal });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      this.heldUntilMs = undefined;
      await this.rest.call({ method: 'POST', path: this.path, body: this.record(undefined, now), signal });
      return true;
    }
    const spec = current.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds, current.metadata.resourceVersion]);
    // Dated when we saw it, never from an earlier look: we cannot know when between two looks it changed.
    const nowMs = this.opts.clock.nowMs();
    if (this.observed?.record !== record) this.observed = { record, atMs: nowMs };
    const held = Boolean(spec.holderIdentity) && spec.holderIdentity !== this.opts.identity;
    const expiresAtMs = this.observed.atMs + (spec.leaseDurationSeconds ?? this.durations.lease / 1000) * 1000;
    this.heldUntilMs = held ? expiresAtMs : undefined;
    if (held && nowMs < expiresAtMs) return false;
    try {
      await this.rest.call({ method: 'PUT', path: `${this.path}/${this.opts.name}`, body: this.record(current, now), signal });
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote first, or our read was stale
      throw err;
    }
  }

  private record(current: Lease | undefined, now: Date): Lease {
    const spec = current?.spec ?? {};
    const mine = spec.holderIdentity === this.opts.identity;
    return {
      ...current,
      metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: current?.metadata.resourceVersion },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.round(this.durations.lease / 1000),
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine || !current ? 0 : 1),
      },
    };
  }

  /** Gives the Lease up: an empty holder with a 1-second duration lets a standby take it right away. */
  private async release(): Promise<void> {
    // Only while the Lease is surely ours: past the renew deadline a standby may already hold it.
    const deadlineMs = this.lastRenewMs + this.durations.renew;
    try {
      await this.bounded(deadlineMs, async (signal) => {
        const current = await this.rest.call<Lease>({ method: 'GET', path: `${this.path}/${this.opts.name}`, signal });
        if (current.spec?.holderIdentity !== this.opts.identity) return;
        const body = { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.opts.clock.now()) } };
        await this.rest.call({ method: 'PUT', path: `${this.path}/${this.opts.name}`, body, signal });
      }, { stoppable: false });
    } catch (err) {
      this.opts.log?.('warn', 'Releasing the Lease failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.leading = false;
    }
  }
}
