// What the admission rule costs per pod, in process (no HTTP, no TLS): `answerReview` on an AdmissionReview
// body as the API server sends it (parse, decide, patch, base64), with R resources in the cache, each
// selecting by name, labels, annotations and pod labels. The webhook adds its server around this.
// Usage: node --import tsx bench/admission-rule.ts [resources...]   (default 1 20 200)
import { performance } from 'node:perf_hooks';
import { answerReview, type AdmissionView } from '../src/admission/index.ts';
import type { ImagePullSecret } from '../src/api/v1alpha1/types.ts';

const ROUNDS = 20_000;

function resources(count: number): ImagePullSecret[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'pullsecret-sync.dev/v1alpha1', kind: 'ImagePullSecret',
    metadata: { name: `r${String(i)}`, uid: `u${String(i)}`, generation: 1 },
    spec: {
      registry: { credentials: [{ name: 'hub', namespace: 'registry-access' }] },
      target: {
        namespaces: { names: [`team-${String(i)}`], labels: [{ matchLabels: { team: String(i) } }], annotations: [{ matchAnnotations: { owner: String(i) } }] },
        namespacesWithPods: { labels: [{ matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [String(i)] }] }] },
        secret: { name: `pull-${String(i % 10)}` }, pods: { inject: true },
      },
    },
  }));
}

function review(i: number): unknown {
  return JSON.parse(JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: `uid-${String(i)}`, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'team-0', operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', labels: { app: 'web', 'pod-template-hash': 'abc' } },
        spec: { containers: [{ name: 'app', image: 'r.example/app:1' }], imagePullSecrets: [{ name: 'own' }] } },
    },
  })) as unknown;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

for (const count of (process.argv.slice(2).length ? process.argv.slice(2) : ['1', '20', '200']).map(Number)) {
  const list = resources(count);
  const view: AdmissionView = {
    namespace: (name) => ({ metadata: { name, labels: { team: '0', 'kubernetes.io/metadata.name': name }, annotations: { owner: '0' } } }),
    resources: () => list, ownNamespace: 'pullsecret-sync',
  };
  const bodies = Array.from({ length: 100 }, (_, i) => review(i));
  for (let i = 0; i < 2_000; i++) answerReview(bodies[i % 100], view); // warm up, compile the targets
  const times: number[] = [];
  let mutated = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const { decision } = answerReview(bodies[i % 100], view);
    times.push(performance.now() - start);
    if (decision.outcome === 'mutated') mutated++;
  }
  times.sort((a, b) => a - b);
  const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
  console.log(`${String(count)} resources: p50 ${us(percentile(times, 0.5))}, p99 ${us(percentile(times, 0.99))}, max ${us(times.at(-1) ?? 0)}; ${String(mutated)}/${String(ROUNDS)} mutated`);
}
