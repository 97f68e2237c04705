// Every metric the daemon exports, on a private prom-client registry (nothing registers itself globally at import time). Names start with pullsecret_sync_; labels are
// low-cardinality except the per-resource gauges, which are computed at scrape time from the caches
// (see collectors.ts) so a deleted resource leaves no stale series. docs/metrics.md documents each one.
import './defer-tracing.ts'; // before prom-client loads
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROVIDER_KINDS } from '../credentials/registry.ts';
import type { ReconcileObserver, WorkQueueObserver } from '../runtime/index.ts';

export const PREFIX = 'pullsecret_sync_';

export type ControllerName = 'resource' | 'target';
const CONTROLLERS: ControllerName[] = ['resource', 'target'];
const OUTCOMES = ['success', 'requeue', 'error', 'terminal'] as const;
/** The webhook's outcomes (webhook/admit.ts says what each means). */
export const ADMISSION_OUTCOMES = ['mutated', 'present', 'not_selected', 'opted_out', 'error'] as const;
export const WRITE_VERBS = ['create', 'update', 'patch', 'delete'] as const;

export class Metrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: `${PREFIX}reconcile_total`, help: 'Reconciles by controller and outcome.',
    labelNames: ['controller', 'result'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: `${PREFIX}reconcile_errors_total`, help: 'Reconciles that failed (error or terminal).',
    labelNames: ['controller'], registers: [this.registry] });
  readonly reconcileDuration = new Histogram({ name: `${PREFIX}reconcile_duration_seconds`, help: 'Time one reconcile took.',
    labelNames: ['controller'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: `${PREFIX}workqueue_depth`, help: 'Keys waiting for a worker.', registers: [this.registry] });
  readonly queueAdds = new Counter({ name: `${PREFIX}workqueue_adds_total`, help: 'Keys that became pending.', registers: [this.registry] });
  readonly queueRetries = new Counter({ name: `${PREFIX}workqueue_retries_total`, help: 'Keys re-queued with backoff after a failure.',
    registers: [this.registry] });
  readonly queueLatency = new Histogram({ name: `${PREFIX}workqueue_queue_duration_seconds`, help: 'Time a key waited for a worker.',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly tokenFetches = new Counter({ name: `${PREFIX}token_fetches_total`, help: 'Cloud registry token fetches by provider and result.',
    labelNames: ['provider', 'result'], registers: [this.registry] });
  readonly namespaceToSecret = new Histogram({ name: `${PREFIX}namespace_secret_latency_seconds`,
    help: 'From the daemon seeing a new namespace to the Secret being written there.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly apiWrites = new Counter({ name: `${PREFIX}api_writes_total`, help: 'Kubernetes API writes by verb, resource and HTTP code class.',
    labelNames: ['verb', 'resource', 'code'], registers: [this.registry] });
  readonly leader = new Gauge({ name: `${PREFIX}leader`, help: '1 while this replica holds the leader Lease.', registers: [this.registry] });
  readonly builderRequests = new Counter({ name: `${PREFIX}builder_requests_total`, help: 'Builder API requests by endpoint and result.',
    labelNames: ['endpoint', 'result'], registers: [this.registry] });
  readonly admissionRequests = new Counter({ name: `${PREFIX}admission_requests_total`,
    help: 'Pod admission reviews the webhook answered, by outcome (mutated, present, not_selected, opted_out, error).',
    labelNames: ['outcome'], registers: [this.registry] });
  readonly admissionDuration = new Histogram({ name: `${PREFIX}admission_duration_seconds`,
    help: 'Time the webhook took to answer one admission review, from its first byte read to the answer written.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });

  readonly processErrors = new Counter({ name: `${PREFIX}process_errors_total`,
    help: 'Errors nothing caught that reached the process (logged; the process goes on), by kind.',
    labelNames: ['kind'], registers: [this.registry] });

  /** `providers`: the kinds whose token fetches start at zero; default every registered provider. */
  constructor(providers: readonly string[] = PROVIDER_KINDS) {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    // Known label combinations start at zero, so rate() and absent() work from the first scrape.
    for (const controller of CONTROLLERS) {
      for (const result of OUTCOMES) this.reconciles.inc({ controller, result }, 0);
      this.reconcileErrors.inc({ controller }, 0);
    }
    for (const provider of providers) for (const result of ['success', 'error']) this.tokenFetches.inc({ provider, result }, 0);
    for (const verb of WRITE_VERBS) this.apiWrites.inc({ verb, resource: 'secrets', code: '2xx' }, 0);
    this.leader.set(0);
    for (const outcome of ADMISSION_OUTCOMES) this.admissionRequests.inc({ outcome }, 0);
    for (const kind of ['unhandledRejection', 'uncaughtException']) this.processErrors.inc({ kind }, 0);
  }

  queueObserver(): WorkQueueObserver {
    return {
      depth: (n) => { this.queueDepth.set(n); },
      adds: () => { this.queueAdds.inc(); },
      retries: () => { this.queueRetries.inc(); },
      latency: (ms) => { this.queueLatency.observe(ms / 1000); },
      workDuration: () => undefined,
    };
  }

  /** `controllerOf` maps a work key to the controller that handles it. */
  reconcileObserver(controllerOf: (key: string) => ControllerName): ReconcileObserver {
    return {
      started: () => undefined,
      finished: (key, outcome, durationMs) => {
        const controller = controllerOf(key);
        this.reconciles.inc({ controller, result: outcome });
        if (outcome === 'error' || outcome === 'terminal') this.reconcileErrors.inc({ controller });
        this.reconcileDuration.observe({ controller }, durationMs / 1000);
      },
    };
  }

  apiWrite(verb: string, resource: string, code: number): void {
    this.apiWrites.inc({ verb, resource, code: `${String(Math.floor(code / 100))}xx` });
  }
}
