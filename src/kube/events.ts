// Kubernetes Events (events.k8s.io/v1) about our objects. Repeats of one reason and message for one
// object within the dedupe window are dropped, so a failing source does not flood the event stream.
import { realClock, type Clock } from '../util/clock.ts';
import type { KubeRest } from './rest.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

export interface EventRecorderOptions {
  reportingController?: string;
  reportingInstance?: string;
  dedupeWindowMs?: number;
  clock?: Clock;
  onError?: (err: unknown) => void;
}

export class EventRecorder {
  private readonly recent = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly rest: KubeRest, private readonly opts: EventRecorderOptions = {}) {
    this.clock = opts.clock ?? realClock;
  }

  /**
   * Records an event; never throws (events are best effort). `note` must hold no credential material.
   * `signal` cancels the call (a reconcile's, at shutdown).
   */
  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, note: string, signal?: AbortSignal): Promise<void> {
    const key = `${target.kind}/${target.namespace ?? ''}/${target.name}/${type}/${reason}/${note}`;
    const window = this.opts.dedupeWindowMs ?? 10 * 60_000;
    const last = this.recent.get(key);
    const now = this.clock.nowMs();
    if (last !== undefined && now - last < window) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.prune(now, window);
    const namespace = target.namespace ?? 'default'; // Events about cluster-scoped objects live in default
    const name = `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    try {
      await this.rest.call({
        method: 'POST', path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, ...(signal ? { signal } : {}),
        body: {
          apiVersion: 'events.k8s.io/v1', kind: 'Event',
          metadata: { name, namespace },
          eventTime: new Date(now).toISOString().replace('Z', '000Z'),
          reportingController: this.opts.reportingController ?? 'pullsecret-sync.dev/controller',
          reportingInstance: this.opts.reportingInstance ?? 'pullsecret-sync',
          action: reason, reason, type, note: note.slice(0, 1024),
          regarding: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: target.namespace, uid: target.uid },
        },
      });
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  private prune(now: number, window: number): void {
    for (const [key, at] of this.recent) if (now - at >= window) this.recent.delete(key);
  }
}
