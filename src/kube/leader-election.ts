// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: a candidate
// takes the Lease when it is free or its holder has not renewed it for a lease duration (measured on our
// own clock from when we last saw it change, so clock skew between nodes does not matter), renews it
// every retry period, and gives up leadership when it could not renew within the renew deadline.
// Writes are optimistic (resourceVersion), so two candidates never both win.
//
// The guarantee (docs/reliability.md): isLeader() is true only until `renewDeadline` after the start of
// the last successful renewal, whatever the network does, because each attempt runs under that very
// deadline and isLeader() reads the clock rather than a flag. A standby takes over no earlier than
// `leaseDuration` minus one retry period after that renewal reached the API server, which is later, so
// with the defaults (LEASE_TIMING) the old leader has stopped writing >= 3 s before a new one starts.
// Losing the Lease is final: the elector stops campaigning and the process is expected to exit.
import { exponentialBackoff } from '../util/backoff.ts';
import type { Clock } from '../util/clock.ts';
import { sleep } from '../util/clock.ts';
import { isStatus, KubeApiError, type KubeRest } from './rest.ts';

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

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

const microTime = (d: Date) => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly abort = new AbortController();
  private leading = false;
  private observed: { record: string; atMs: number } | undefined;
  private lastLookMs: number | undefined;
  private running: Promise<void> | undefined;
  private blockedAttempts = 0;
  /** When the last successful acquire/renew attempt started (our clock). */
  private lastRenewMs = 0;

  constructor(private readonly rest: KubeRest, private readonly opts: LeaderElectionOptions) {}

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

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (this.isLeader()) await this.release();
  }

  private async loop(): Promise<void> {
    const { retry, renew } = this.durations;
    const blockedDelay = missingNamespaceBackoff(retry);
    while (!this.abort.signal.aborted) {
      const startedMs = this.opts.clock.nowMs();
      // A leader's attempt must finish before its renew deadline; a candidate's within one renew deadline.
      const deadlineMs = this.leading ? this.lastRenewMs + renew : startedMs + renew;
      const outcome = await this.tryAcquireOrRenew(deadlineMs).catch((err: unknown) => {
        if (isMissingNamespace(err, this.opts.namespace)) return 'blocked' as const;
        this.opts.log?.('warn', 'Lease update failed', { error: err instanceof Error ? err.message : String(err) });
        return false;
      });
      const blocked = outcome === 'blocked';
      const ok = outcome === true;
      this.setBlocked(blocked);
      if (ok) {
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
      const delay = blocked ? blockedDelay(this.blockedAttempts) : retry;
      if (blocked) this.opts.log?.('debug', 'Lease namespace not found; retrying', { namespace: this.opts.namespace, retryInMs: delay });
      await sleep(this.opts.clock, delay, this.abort.signal);
    }
  }

  private setBlocked(blocked: boolean): void {
    const was = this.blockedAttempts > 0;
    this.blockedAttempts = blocked ? this.blockedAttempts + 1 : 0;
    if (blocked !== was) this.opts.onBlocked?.(blocked ? 'NamespaceNotFound' : undefined);
  }

  private async tryAcquireOrRenew(deadlineMs: number): Promise<boolean> {
    const now = this.opts.clock.now();
    const { lease } = this.durations;
    const within = () => ({ timeoutMs: Math.max(1, deadlineMs - this.opts.clock.nowMs()) });
    let current: Lease;
    try {
      current = await this.rest.call<Lease>({ method: 'GET', path: `${this.path}/${this.opts.name}`, ...within() });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      await this.rest.call({ method: 'POST', path: this.path, body: this.record(undefined, now), ...within() });
      return true;
    }
    const spec = current.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    // The holder renewed somewhere between our previous look and this one: dating the renewal at the
    // previous look bounds a takeover after a crash by lease duration plus one retry period. It is safe:
    // a live holder renews every retry period and steps down after the renew deadline.
    const nowMs = this.opts.clock.nowMs();
    if (this.observed?.record !== record) this.observed = { record, atMs: this.lastLookMs ?? nowMs };
    this.lastLookMs = nowMs;
    const held = spec.holderIdentity && spec.holderIdentity !== this.opts.identity;
    const expired = nowMs > this.observed.atMs + (spec.leaseDurationSeconds ?? lease / 1000) * 1000;
    if (held && !expired) return false;
    try {
      await this.rest.call({ method: 'PUT', path: `${this.path}/${this.opts.name}`, body: this.record(current, now), ...within() });
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote first
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
    const within = () => ({ timeoutMs: Math.max(1, this.lastRenewMs + this.durations.renew - this.opts.clock.nowMs()) });
    try {
      const current = await this.rest.call<Lease>({ method: 'GET', path: `${this.path}/${this.opts.name}`, ...within() });
      if (current.spec?.holderIdentity !== this.opts.identity) return;
      await this.rest.call({ method: 'PUT', path: `${this.path}/${this.opts.name}`, ...within(),
        body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.opts.clock.now()) } } });
    } catch (err) {
      this.opts.log?.('warn', 'Releasing the Lease failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.leading = false;
    }
  }
}
