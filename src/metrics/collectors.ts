// Per-resource gauges, computed at scrape time from what the controller's caches hold (after
// cert-manager's collectors): a deleted ImagePullSecret simply stops appearing, with no stale series and
// no bookkeeping on the reconcile path.
import './defer-tracing.ts'; // before prom-client loads
import { Gauge } from 'prom-client';
import { PREFIX, type Metrics } from './metrics.ts';

export interface ResourceSample {
  name: string;
  managedSecrets: number;
  /** 1 when Ready=True, 0 otherwise (including not yet reported). */
  ready: number;
  conflicts: number;
  sources: { reference: string; kind: string; expiresAt?: Date; lastRefreshTime?: Date }[];
}

type SourceSample = ResourceSample['sources'][number];

/** A gauge with one series per ImagePullSecret, read from `sample` at every scrape. */
function perResource(metrics: Metrics, name: string, help: string, value: (s: ResourceSample) => number, sample: () => ResourceSample[]): void {
  new Gauge({
    name: `${PREFIX}${name}`, help, labelNames: ['imagepullsecret'], registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of sample()) this.set({ imagepullsecret: s.name }, value(s));
    },
  });
}

export function registerResourceCollectors(metrics: Metrics, sample: () => ResourceSample[]): void {
  perResource(metrics, 'managed_secrets', 'Secrets an ImagePullSecret currently holds, one per namespace.', (s) => s.managedSecrets, sample);
  perResource(metrics, 'resource_ready', '1 when the ImagePullSecret\'s Ready condition is True.', (s) => s.ready, sample);
  perResource(metrics, 'conflicts', 'Namespaces where the target Secret name is held by someone else.', (s) => s.conflicts, sample);
  perSource(metrics, 'token_expiry_timestamp_seconds', 'Unix time at which a source\'s current registry token expires.',
    (src) => src.expiresAt, sample);
  // With the expiry this gives the token's lifetime, so an alert can ask "less than a quarter of the
  // lifetime left" and hold for one-hour Google tokens and twelve-hour ECR tokens alike.
  perSource(metrics, 'token_refresh_timestamp_seconds', 'Unix time at which a source\'s current registry token was fetched.',
    (src) => src.lastRefreshTime, sample);
}

/** A gauge with one series per cloud source of each ImagePullSecret that has the instant `at` picks. */
function perSource(metrics: Metrics, name: string, help: string, at: (s: SourceSample) => Date | undefined, sample: () => ResourceSample[]): void {
  new Gauge({
    name: `${PREFIX}${name}`, help, labelNames: ['imagepullsecret', 'source', 'kind'], registers: [metrics.registry],
    collect() {
      this.reset();
      for (const s of sample()) {
        for (const src of s.sources) {
          const instant = at(src);
          if (instant) this.set({ imagepullsecret: s.name, source: src.reference, kind: src.kind }, instant.getTime() / 1000);
        }
      }
    },
  });
}
