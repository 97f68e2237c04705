// Per-resource gauges, computed at scrape time from what the controller's caches hold (after
// cert-manager's collectors): a deleted ImagePullSecret simply stops appearing, with no stale series and
// no bookkeeping on the reconcile path.
import { Gauge } from 'prom-client';
import { PREFIX, type Metrics } from './metrics.ts';

export interface ResourceSample {
  name: string;
  managedSecrets: number;
  /** 1 when Ready=True, 0 otherwise (including not yet reported). */
  ready: number;
  conflicts: number;
  sources: { reference: string; kind: string; expiresAt?: Date }[];
}

export function registerResourceCollectors(metrics: Metrics, sample: () => ResourceSample[]): void {
  const registers = [metrics.registry];
  new Gauge({
    name: `${PREFIX}managed_secrets`, help: 'Secrets an ImagePullSecret currently holds, one per namespace.',
    labelNames: ['imagepullsecret'], registers,
    collect() {
      this.reset();
      for (const s of sample()) this.set({ imagepullsecret: s.name }, s.managedSecrets);
    },
  });
  new Gauge({
    name: `${PREFIX}resource_ready`, help: '1 when the ImagePullSecret\'s Ready condition is True.',
    labelNames: ['imagepullsecret'], registers,
    collect() {
      this.reset();
      for (const s of sample()) this.set({ imagepullsecret: s.name }, s.ready);
    },
  });
  new Gauge({
    name: `${PREFIX}conflicts`, help: 'Namespaces where the target Secret name is held by someone else.',
    labelNames: ['imagepullsecret'], registers,
    collect() {
      this.reset();
      for (const s of sample()) this.set({ imagepullsecret: s.name }, s.conflicts);
    },
  });
  new Gauge({
    name: `${PREFIX}token_expiry_timestamp_seconds`, help: 'Unix time at which a source\'s current registry token expires.',
    labelNames: ['imagepullsecret', 'source', 'kind'], registers,
    collect() {
      this.reset();
      for (const s of sample()) {
        for (const src of s.sources) {
          if (src.expiresAt) this.set({ imagepullsecret: s.name, source: src.reference, kind: src.kind }, src.expiresAt.getTime() / 1000);
        }
      }
    },
  });
}
